"""The traces list's review column (score tags) and its reviewed / not reviewed filter."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reviews.services import delete_review
from tests.reviews.factories import TraceFactory, make_review, make_scorer

pytestmark = pytest.mark.django_db


@pytest.fixture
def url(project):
    return reverse("traces:list", args=[project.slug])


def listed(response) -> set[str]:
    return {t.trace_id for t in response.context["page"].rows}


def test_review_column_shows_score_tags(reviewer_client, url, project, reviewer):
    accuracy = make_scorer(project, "Accuracy", "numeric")
    make_review(TraceFactory(project=project, trace_id="scored"), reviewer, {accuracy.pk: "4.5"})
    make_review(TraceFactory(project=project, trace_id="looked-at"), reviewer)
    TraceFactory(project=project, trace_id="untouched")
    response = reviewer_client.get(url)
    assert "Accuracy:</span> 4.5" in response.text
    assert response.text.count('class="score-tag score-none">Reviewed<') == 1
    assert "css/reviews.css" in response.text


def test_reviewed_filter(reviewer_client, url, project, reviewer):
    make_review(TraceFactory(project=project, trace_id="reviewed"), reviewer)
    gone = make_review(TraceFactory(project=project, trace_id="review-deleted"), reviewer)
    delete_review(review=gone, user=reviewer, base_revision=1)
    again = TraceFactory(project=project, trace_id="deleted-then-reviewed")
    delete_review(review=make_review(again, reviewer), user=reviewer, base_revision=1)
    make_review(again, reviewer)
    TraceFactory(project=project, trace_id="never")

    assert listed(reviewer_client.get(url, {"reviewed": "yes"})) == {"reviewed", "deleted-then-reviewed"}
    assert listed(reviewer_client.get(url, {"reviewed": "no"})) == {"review-deleted", "never"}
    htmx = reviewer_client.get(url, {"reviewed": "yes"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    assert listed(htmx) == {"reviewed", "deleted-then-reviewed"}
    assert len(listed(reviewer_client.get(url))) == 4


@pytest.mark.parametrize("count", [5, 60])
def test_review_column_keeps_the_query_count_bounded(
    reviewer_client, url, project, reviewer, count, django_assert_max_num_queries
):
    accuracy = make_scorer(project, "Accuracy", "numeric")
    for i in range(count):
        make_review(TraceFactory(project=project), reviewer, {accuracy.pk: str(1 + i % 5)})
    with django_assert_max_num_queries(16):
        response = reviewer_client.get(url)
    assert response.status_code == 200
    assert response.text.count("Accuracy:</span>") == min(count, 50)
