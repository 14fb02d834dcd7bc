"""The scorers list's filters: active / archived / all, and a name search."""

from __future__ import annotations

import django_filters
from django import forms

from scorers.configs import Kind
from scorers.models import ScorerQuerySet

STATUS_CHOICES = [("active", "Active"), ("archived", "Archived"), ("all", "All")]


class ScorerFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", empty_label=None, label="Show"
    )
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")
    kind = django_filters.ChoiceFilter(choices=Kind.choices, empty_label="Any kind")

    def __init__(self, data=None, *args, **kwargs):
        # Active scorers unless asked otherwise: archived ones are history, not the working set.
        data = data.copy() if data is not None else {}
        if data.get("status") not in {value for value, _ in STATUS_CHOICES}:
            data["status"] = "active"
        super().__init__(data, *args, **kwargs)
        self.form.fields["q"].widget = forms.TextInput(
            attrs={"type": "search", "placeholder": "Search names"}
        )

    def filter_status(self, queryset: ScorerQuerySet, name: str, value: str) -> ScorerQuerySet:
        if value == "archived":
            return queryset.archived()
        if value == "all":
            return queryset
        return queryset.active()
