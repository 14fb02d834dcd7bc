"""The value filters of the reviews page are index lookups on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from reviews.models import Review
from tests.reviews.factories import TraceFactory, make_review, make_scorer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_value_filters_are_index_lookups(project, reviewer):
    """ "Outcome is Resolved" and "Accuracy between 3 and 5" can be answered from their indexes
    (sequential scans switched off, so the plan shows what is possible, not what is cheapest on
    a tiny table)."""
    alice = reviewer
    outcome = make_scorer(project, "Outcome", "categorical")
    accuracy = make_scorer(project, "Accuracy", "numeric")
    make_review(TraceFactory(project=project), alice, {outcome.pk: "resolved", accuracy.pk: "4"})
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        by_option = Review.objects.filter(scores__options__scorer=outcome, scores__options__key="resolved")
        assert "reviews_reviewscoreoption_key" in by_option.explain()
        by_range = Review.objects.filter(
            scores__scorer=accuracy, scores__number__gte=3, scores__number__lte=5
        )
        assert "reviews_reviewscore_number" in by_range.explain()
        assert by_option.count() == by_range.count() == 1
