"""Filters of the saved reviews page and its export (SPEC §4.1).

The value filters (`option`, `value_min`/`value_max`, `flag`) apply to the chosen `scorer` and
use the indexes built for them: (scorer, key) on the option rows, (scorer, number) and
(scorer, flag) on the scores. One score per scorer per review and one option row per key keep the
joins from repeating a review.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from projects.models import Project
from reviews.models import Review, ReviewQuerySet
from scorers.configs import NON_FINITE, NUMBER_RE, Kind
from scorers.models import Scorer


class AsciiDecimalField(forms.DecimalField):
    """DecimalField reads "٣" as 3 (Decimal() does); a number typed here is ASCII digits."""

    def to_python(self, value: Any):
        if isinstance(value, str) and value.strip() and not _plain_number(value.strip()):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


def _plain_number(text: str) -> bool:
    return bool(NUMBER_RE.fullmatch(text)) or text.lstrip("+-").lower() in NON_FINITE


class ValueBoundFilter(django_filters.NumberFilter):
    field_class = AsciiDecimalField


SORTS = {
    "-updated": ("-updated_at", "-id"),
    "updated": ("updated_at", "id"),
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
}


class ReviewFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_q",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Trace id or reasoning"}),
    )
    scorer = django_filters.ModelChoiceFilter(
        label="Scorer", queryset=Scorer.objects.none(), method="filter_scorer", empty_label="Any scorer"
    )
    option = django_filters.CharFilter(label="Value", method="filter_nothing")
    value_min = ValueBoundFilter(label="From", method="filter_nothing")
    value_max = ValueBoundFilter(label="To", method="filter_nothing")
    flag = django_filters.ChoiceFilter(
        label="Value", choices=[("true", "true"), ("false", "false")], method="filter_nothing"
    )
    reviewer = django_filters.ModelChoiceFilter(
        label="Reviewer",
        field_name="reviewed_by",
        queryset=get_user_model().objects.none(),
        empty_label="Anyone",
    )
    updated_from = django_filters.DateFilter(
        label="Updated from", method="filter_updated_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    updated_to = django_filters.DateFilter(
        label="Updated to", method="filter_updated_to", widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = django_filters.ChoiceFilter(
        label="Sort",
        choices=[
            ("-updated", "Updated (newest first)"),
            ("updated", "Updated (oldest first)"),
            ("-created", "Created (newest first)"),
            ("created", "Created (oldest first)"),
        ],
        empty_label=None,
        method="filter_nothing",
    )

    class Meta:
        model = Review
        fields: list[str] = []

    def __init__(self, data=None, *args, project: Project, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.project = project
        self.filters["scorer"].queryset = Scorer.objects.for_project(project).select_related(
            "current_version"
        )
        users = get_user_model().objects.filter(
            Q(memberships__project=project)
            | Q(pk__in=Review.objects.for_project(project).values("reviewed_by"))
        )
        self.filters["reviewer"].queryset = users.distinct().order_by("username")

    # -- filters ----------------------------------------------------------------------------------

    def filter_q(self, queryset: ReviewQuerySet, name: str, value: str) -> ReviewQuerySet:
        return queryset.search(value)

    def filter_scorer(self, queryset: ReviewQuerySet, name: str, scorer: Scorer) -> ReviewQuerySet:
        return queryset.filter(scores__scorer=scorer) if scorer else queryset

    def filter_nothing(self, queryset: ReviewQuerySet, name: str, value: Any) -> ReviewQuerySet:
        return queryset  # applied with the scorer in filter_queryset()

    def filter_updated_from(self, queryset: ReviewQuerySet, name: str, value) -> ReviewQuerySet:
        return queryset.filter(updated_at__gte=_start_of(value))

    def filter_updated_to(self, queryset: ReviewQuerySet, name: str, value) -> ReviewQuerySet:
        # Inclusive of the whole day "to" (and no bound at all for the last representable day).
        if value >= date.max:
            return queryset
        return queryset.filter(updated_at__lt=_start_of(value + timedelta(days=1)))

    def filter_queryset(self, queryset: ReviewQuerySet) -> ReviewQuerySet:
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        # The id breaks ties, so pages never repeat or skip a review.
        queryset = queryset.order_by(*SORTS.get(data.get("sort") or "", SORTS["-updated"]))
        scorer = self.value_scorer
        if scorer is None:
            return queryset
        if scorer.kind == Kind.CATEGORICAL and data.get("option"):
            queryset = queryset.filter(scores__options__scorer=scorer, scores__options__key=data["option"])
        elif scorer.kind == Kind.NUMERIC:
            bounds = {}
            if data.get("value_min") is not None:
                bounds["scores__number__gte"] = data["value_min"]
            if data.get("value_max") is not None:
                bounds["scores__number__lte"] = data["value_max"]
            if bounds:
                # One filter() call: the bounds apply to the same score row, the chosen scorer's.
                queryset = queryset.filter(scores__scorer=scorer, **bounds)
        elif scorer.kind == Kind.BOOLEAN and data.get("flag"):
            queryset = queryset.filter(scores__scorer=scorer, scores__flag=data["flag"] == "true")
        return queryset

    # -- for the template -------------------------------------------------------------------------

    @property
    def value_scorer(self) -> Scorer | None:
        """The chosen scorer, when the form is valid enough to know it."""
        if not self.is_bound:
            return None
        self.form.is_valid()
        return getattr(self.form, "cleaned_data", {}).get("scorer")

    def value_options(self) -> list[tuple[str, str]]:
        """(key, label) of every option the chosen scorer ever had: keys mean the same thing in all
        versions, so reviews pinned to an old version are found too. Newest label wins."""
        scorer = self.value_scorer
        if scorer is None or scorer.kind != Kind.CATEGORICAL:
            return []
        labels: dict[str, str] = {}
        for config in scorer.versions.order_by("number").values_list("config", flat=True):
            for option in config.get("options", []):
                labels[option["key"]] = option["label"]
        return list(labels.items())

    @property
    def is_filtered(self) -> bool:
        if not self.is_bound or not self.form.is_valid():
            return False
        return any(v not in (None, "", []) for k, v in self.form.cleaned_data.items() if k != "sort")


def _start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
