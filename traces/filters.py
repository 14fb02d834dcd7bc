"""Filters of the traces list (SPEC §2.2). Most filters read a stored column of Trace, so the list
walks the (project, -started_at, -id) index; "reviewed" and "queue" add one join each (to the
trace's active review and its pending queue item), asked through the model relations."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django import forms
from django.core.cache import cache
from django.db.models import FilteredRelation, Q, QuerySet
from django.utils import timezone

from projects.models import Project
from traces.models import Trace

RANGES = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
RANGE_CHOICES = [
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
]
ERROR_CHOICES = [("yes", "With errors"), ("no", "Without errors")]
REVIEWED_CHOICES = [("yes", "Reviewed"), ("no", "Not reviewed")]
MODEL_CHOICES_TTL = 60  # seconds; the model list is a hint, a new model shows up within a minute
MODEL_CHOICES_SCAN = 2000  # distinct model combinations read at most


def model_choices(project: Project) -> list[tuple[str, str]]:
    """Models seen in the project's traces, cached briefly (it scans the models column)."""
    key = f"traces:model-choices:{project.pk}"
    cached = cache.get(key)
    if cached is None:
        combos = (
            Trace.objects.for_project(project)
            .exclude(models_used="")
            .order_by()
            .values_list("models_used", flat=True)
            .distinct()[:MODEL_CHOICES_SCAN]
        )
        names = sorted({m for combo in combos for m in combo.split("|") if m}, key=str.lower)
        cached = [(m, m) for m in names]
        cache.set(key, cached, MODEL_CHOICES_TTL)
    return cached


def queue_choices(project: Project) -> list[tuple[str, str]]:
    """Choices: in no queue, in any queue, then each active queue (asked through Project.queues: traces
    never imports the queues app)."""
    queues = project.queues.filter(deleted_at__isnull=True).order_by("name").values_list("pk", "name")
    return [("none", "In no queue"), ("any", "In any queue")] + [
        (str(pk), f"Pending in {n}") for pk, n in queues
    ]


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class TraceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Trace id, name, session, text…"}),
    )
    range = django_filters.ChoiceFilter(
        choices=RANGE_CHOICES, method="filter_range", label="Time", empty_label="All time"
    )
    start = django_filters.DateTimeFilter(
        field_name="started_at", lookup_expr="gte", label="From (UTC)", widget=DateTimeLocalInput()
    )
    end = django_filters.DateTimeFilter(
        field_name="started_at", lookup_expr="lt", label="To (UTC)", widget=DateTimeLocalInput()
    )
    model = django_filters.ChoiceFilter(method="filter_model", label="Model", empty_label="Any model")
    error = django_filters.ChoiceFilter(
        choices=ERROR_CHOICES, method="filter_error", label="Errors", empty_label="Any status"
    )
    reviewed = django_filters.ChoiceFilter(
        choices=REVIEWED_CHOICES, method="filter_reviewed", label="Review", empty_label="Any review status"
    )
    queue = django_filters.ChoiceFilter(method="filter_queue", label="Queue", empty_label="Any queue")
    min_latency = django_filters.NumberFilter(
        field_name="latency",
        lookup_expr="gte",
        label="Min latency (s)",
        widget=forms.NumberInput(attrs={"min": 0, "step": "any", "placeholder": "s"}),
    )
    min_cost = django_filters.NumberFilter(
        field_name="total_cost",
        lookup_expr="gte",
        label="Min cost ($)",
        widget=forms.NumberInput(attrs={"min": 0, "step": "any", "placeholder": "$"}),
    )

    class Meta:
        model = Trace
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, project: Project, **kwargs):
        super().__init__(data, queryset=queryset, **kwargs)
        self.filters["model"].extra["choices"] = model_choices(project)
        self.filters["queue"].extra["choices"] = queue_choices(project)

    def filter_search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return qs
        return qs.filter(
            Q(trace_id__icontains=value)
            | Q(name__icontains=value)
            | Q(session_id__icontains=value)
            | Q(input_preview__icontains=value)
            | Q(output_preview__icontains=value)
        )

    def filter_range(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        delta = RANGES.get(value)
        return qs.filter(started_at__gte=timezone.now() - delta) if delta else qs

    def filter_model(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        # models_used is "|a|b|": the delimiters make "gpt-4o" not match "gpt-4o-mini".
        return qs.filter(models_used__contains=f"|{value}|") if value else qs

    def filter_error(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value == "yes":
            return qs.filter(has_error=True)
        if value == "no":
            return qs.filter(has_error=False)
        return qs

    def filter_reviewed(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        # Through the relation (traces never imports reviews). One filter() call: the same review
        # row must exist and be active (not soft-deleted); a trace has at most one such row.
        active_review = Q(reviews__isnull=False, reviews__deleted_at__isnull=True)
        if value == "yes":
            return qs.filter(active_review)
        if value == "no":
            return qs.exclude(pk__in=Trace.objects.filter(active_review).values("pk"))
        return qs

    def filter_queue(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return qs
        # The trace's pending item (at most one, by a partial unique constraint): a LEFT JOIN that
        # never multiplies rows.
        qs = qs.alias(
            pending_item=FilteredRelation("queue_items", condition=Q(queue_items__closed_at__isnull=True))
        )
        if value == "none":
            return qs.filter(pending_item__isnull=True)
        if value == "any":
            return qs.filter(pending_item__isnull=False)
        return qs.filter(pending_item__queue_id=int(value))  # one of the choices: a queue id

    @property
    def is_filtered(self) -> bool:
        return any(self.form.cleaned_data.get(name) not in (None, "") for name in self.filters)
