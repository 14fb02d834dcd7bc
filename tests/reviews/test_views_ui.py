"""How the reviews page presents reviews: the traces list's filter bar and table classes, and the
same short timestamps as the traces list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from reviews.models import Review
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
