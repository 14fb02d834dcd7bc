"""Factories for traces, observations, ingestion keys and PostHog events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import factory

from projects.models import IngestionKey
from tests.projects.factories import ProjectFactory
from traces.models import Observation, ObservationKind, Trace


class TraceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trace

    project = factory.SubFactory(ProjectFactory)
    trace_id = factory.Sequence(lambda n: f"trace-{n}")
    name = factory.Sequence(lambda n: f"support-turn-{n}")


class ObservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Observation

    trace = factory.SubFactory(TraceFactory)
    span_id = factory.Sequence(lambda n: f"span-{n}")
    kind = ObservationKind.GENERATION
    name = "chat"
    model = "gpt-4o-mini"


def issue_key(project) -> str:
    """A fresh ingestion key for `project`; returns the raw secret."""
    return IngestionKey.issue(project=project, name="test")[1]


def ai_event(
    event: str = "$ai_generation",
    *,
    trace_id: str = "trace-1",
    timestamp: str | None = None,
    event_uuid: str | None = None,
    distinct_id: str = "user-1",
    **properties,
) -> dict:
    """A PostHog event as the SDK sends it in a batch."""
    props = {"$ai_trace_id": trace_id, **{_prop(k): v for k, v in properties.items()}}
    return {
        "event": event,
        "properties": props,
        "distinct_id": distinct_id,
        "timestamp": timestamp or datetime(2026, 12, 1, 12, 0, tzinfo=UTC).isoformat(),
        "uuid": event_uuid or str(uuid.uuid4()),
    }


def _prop(name: str) -> str:
    # ai_event(span_id="x") -> "$ai_span_id"; names already starting with "$" are kept.
    return name if name.startswith("$") else f"$ai_{name}"


def generation(trace_id: str = "trace-1", **kw) -> dict:
    kw.setdefault("model", "gpt-4o-mini")
    kw.setdefault("provider", "openai")
    kw.setdefault("input", [{"role": "user", "content": "What is the capital of France?"}])
    kw.setdefault("output_choices", [{"role": "assistant", "content": "Paris."}])
    kw.setdefault("input_tokens", 12)
    kw.setdefault("output_tokens", 3)
    kw.setdefault("latency", 0.5)
    return ai_event("$ai_generation", trace_id=trace_id, **kw)
