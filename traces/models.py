"""Traces and their observations (SPEC §2).

A trace's list columns (name, times, tokens, cost, error, models, previews) are derived from its
observations by `Trace.recompute_from` and stored on the row, so the traces list reads one table.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from projects.models import Project
from traces.links import trace_url


class ObservationKind(models.TextChoices):
    GENERATION = "generation", "Generation"
    SPAN = "span", "Span"
    EMBEDDING = "embedding", "Embedding"
    EVENT = "event", "Event"


class TraceQuerySet(models.QuerySet):
    def for_project(self, project: Project) -> TraceQuerySet:
        return self.filter(project=project)

    def newest_first(self) -> TraceQuerySet:
        return self.order_by("-started_at", "-id")


class Trace(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="traces")
    trace_id = models.CharField(max_length=255)

    # Derived from the observations; see recompute_from().
    name = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    latency = models.FloatField(null=True, blank=True, help_text="seconds")
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    total_cost = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal(0))
    has_error = models.BooleanField(default=False)
    # "|gpt-4o|claude-3-5-sonnet|": a plain string so that "uses model X" is one LIKE on any database.
    models_used = models.TextField(blank=True, default="")
    session_id = models.CharField(max_length=255, blank=True)
    distinct_id = models.CharField(max_length=255, blank=True)
    input_preview = models.CharField(max_length=300, blank=True)
    output_preview = models.CharField(max_length=300, blank=True)
    observation_count = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TraceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "trace_id"], name="traces_trace_unique_id"),
        ]
        indexes = [
            # The traces list: newest first within a project, keyset-paginated on (started_at, id).
            models.Index(fields=["project", "-started_at", "-id"], name="traces_trace_list"),
            models.Index(fields=["project", "session_id"], name="traces_trace_session"),
        ]

    def __str__(self) -> str:
        return self.name or self.trace_id

    def get_absolute_url(self) -> str:
        # Percent-encoded, "/" included: see traces/links.py.
        return trace_url(self.project.slug, self.trace_id)

    @property
    def models_list(self) -> list[str]:
        return [m for m in self.models_used.split("|") if m]

    @property
    def total_tokens(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)


class ObservationQuerySet(models.QuerySet):
    def in_tree(self) -> ObservationQuerySet:
        """Observations shown in the tree (events are shown in the trace header instead)."""
        return self.exclude(kind=ObservationKind.EVENT)

    def light(self) -> ObservationQuerySet:
        """Without the large content fields: what the tree and the derived trace fields need."""
        return self.defer("input", "output", "metadata", "model_parameters", "tools")


class Observation(models.Model):
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="observations")
    span_id = models.CharField(max_length=255)
    parent_id = models.CharField(max_length=255, blank=True, default="")
    kind = models.CharField(max_length=20, choices=ObservationKind.choices, default=ObservationKind.SPAN)
    # What the source called it (AGENT, TOOL, retriever, chain, ...), shown as a badge.
    type_label = models.CharField(max_length=50, blank=True)
    name = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=20, blank=True, help_text="wire format it arrived in")
    event_uuid = models.CharField(max_length=64, blank=True)

    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    latency = models.FloatField(null=True, blank=True, help_text="seconds")

    model = models.CharField(max_length=255, blank=True)
    provider = models.CharField(max_length=100, blank=True)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    input_preview = models.CharField(max_length=300, blank=True)
    output_preview = models.CharField(max_length=300, blank=True)
    input_tokens = models.BigIntegerField(null=True, blank=True)
    output_tokens = models.BigIntegerField(null=True, blank=True)
    cache_read_tokens = models.BigIntegerField(null=True, blank=True)
    reasoning_tokens = models.BigIntegerField(null=True, blank=True)
    input_cost = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    output_cost = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    total_cost = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    http_status = models.IntegerField(null=True, blank=True)
    is_error = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    stop_reason = models.CharField(max_length=100, blank=True)
    model_parameters = models.JSONField(null=True, blank=True)
    tools = models.JSONField(null=True, blank=True)
    session_id = models.CharField(max_length=255, blank=True)
    distinct_id = models.CharField(max_length=255, blank=True)
    # Everything the source sent that has no column of its own, shown as metadata.
    metadata = models.JSONField(default=dict, blank=True)
    # Fingerprint of the content as received: a re-sent copy with the same hash is not rewritten,
    # so a repeated import or SDK retry changes nothing and is reported as unchanged.
    content_hash = models.CharField(max_length=64, blank=True, editable=False)

    received_at = models.DateTimeField(default=timezone.now)

    objects = ObservationQuerySet.as_manager()

    class Meta:
        constraints = [
            # Idempotency: a re-sent span (or event uuid) replaces the stored copy.
            models.UniqueConstraint(fields=["trace", "span_id"], name="traces_observation_unique_span"),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in ObservationKind]),
                name="traces_observation_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.span_id
