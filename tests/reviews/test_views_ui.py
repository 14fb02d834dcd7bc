"""How the reviews page presents reviews: the traces list's filter bar and table classes, and the
same short timestamps as the traces list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from reviews.models import Review
from scorers.models import Scorer
from tests.reviews.factories import TraceFactory, make_review, make_scorer

pytestmark = pytest.mark.django_db


def test_reviews_page_uses_the_traces_filter_bar_table_and_time_format(reviewer_client, reviewer, project):
    scorer = make_scorer(project, "Safe", "boolean")
    review = make_review(TraceFactory(project=project), reviewer, {scorer.pk: "true"})
    Review.objects.filter(pk=review.pk).update(updated_at=datetime(2026, 12, 3, 17, 38, 5, tzinfo=UTC))
    html = reviewer_client.get(reverse("reviews:list", args=[project.slug])).content.decode()
    assert '<form class="filters review-filters"' in html
    assert '<div class="filter filter-search">' in html and "filter-field" not in html
    assert '<div class="table-wrap">' in html and '<table class="data review-table">' in html
    assert ">Dec 3, 17:38:05</time>" in html


def test_review_panel_shows_each_scorers_description_on_the_control_and_in_the_picker(
    reviewer_client, project
):
    trace = TraceFactory(project=project)
    safe = make_scorer(project, "Safe", "boolean")
    Scorer.objects.filter(pk=safe.pk).update(description="Would you send this <answer> to a customer?")
    make_scorer(project, "Outcome", "categorical")
    Scorer.objects.filter(name="Outcome").update(description="How the conversation ended")
    url = reverse("reviews:panel", args=[project.slug, trace.trace_id])
    data = {"scorer": [], "reasoning": "", "add_scorer": safe.pk}
    html = reviewer_client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    control = html.split(f'data-scorer="{safe.pk}"', 1)[1].split("</fieldset>", 1)[0]
    assert (
        '<p class="scorer-description muted">Would you send this &lt;answer&gt; to a customer?</p>' in control
    )
    picker = html.split('class="scorer-picker"', 1)[1]
    assert 'title="How the conversation ended"' in picker
    assert '<span class="scorer-description muted">How the conversation ended</span>' in picker


def test_score_tags_keep_the_order_the_scorers_were_added_not_alphabetical(
    reviewer_client, reviewer, project
):
    safe = make_scorer(project, "Safe", "boolean")
    outcome = make_scorer(project, "Outcome", "categorical")
    trace = TraceFactory(project=project)
    make_review(trace, reviewer, {safe.pk: "true", outcome.pk: "resolved"})
    html = reviewer_client.get(reverse("reviews:list", args=[project.slug])).content.decode()
    assert html.index('<span class="score-name">Safe:</span>') < html.index(
        '<span class="score-name">Outcome:</span>'
    )
