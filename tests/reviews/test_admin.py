"""Django admin: reviews with a deleted filter, scores, read-only revisions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reviews.models import ReviewRevision
from reviews.services import delete_review
from tests.projects.factories import UserFactory
from tests.reviews.factories import TraceFactory, make_review, make_scorer

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_lists_reviews_with_a_deleted_filter(superuser_client, project, reviewer):
    scorer = make_scorer(project, "Accuracy", "numeric")
    kept = make_review(TraceFactory(project=project, trace_id="kept"), reviewer, {scorer.pk: "3"})
    gone = make_review(TraceFactory(project=project, trace_id="gone"), reviewer)
    delete_review(review=gone, user=reviewer, base_revision=1)
    url = reverse("admin:reviews_review_changelist")
    assert {r.trace.trace_id for r in superuser_client.get(url).context["cl"].result_list} == {"kept", "gone"}
    deleted = superuser_client.get(url, {"state": "deleted"}).context["cl"].result_list
    assert [r.trace.trace_id for r in deleted] == ["gone"]
    page = superuser_client.get(reverse("admin:reviews_review_change", args=[kept.pk]))
    assert page.status_code == 200 and "Accuracy" in page.text
    for name in ("reviewscore", "reviewrevision"):
        assert superuser_client.get(reverse(f"admin:reviews_{name}_changelist")).status_code == 200


def test_revisions_are_read_only_in_admin(superuser_client, project, reviewer):
    review = make_review(TraceFactory(project=project), reviewer, reasoning="original")
    revision = ReviewRevision.objects.get(review=review)
    url = reverse("admin:reviews_reviewrevision_change", args=[revision.pk])
    assert superuser_client.get(url).status_code == 200
    superuser_client.post(url, {"reasoning": "rewritten"})
    assert (
        superuser_client.post(reverse("admin:reviews_reviewrevision_delete", args=[revision.pk])).status_code
        == 403
    )
    revision.refresh_from_db()
    assert revision.reasoning == "original"
    assert superuser_client.get(reverse("admin:reviews_reviewrevision_add")).status_code == 403
