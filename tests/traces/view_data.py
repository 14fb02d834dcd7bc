"""Trace data for the page tests, written through the real ingestion path (store_observations)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from traces.ingest.normalise import ObservationIn, store_observations

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def make_trace(
    project,
    trace_id: str,
    *,
    started_at: datetime = T0,
    name: str = "support-chat",
    question: str = "How do I reset my password?",
    answer: str = "Open Settings, then Reset password.",
    model: str = "gpt-4o-mini",
    latency: float = 1.0,
    cost: str | None = "0.001",
    is_error: bool = False,
    session_id: str = "",
    extra: list[ObservationIn] | None = None,
) -> None:
    """A trace with a root span and one generation below it."""
    items = [
        ObservationIn(
            trace_id=trace_id,
            span_id=trace_id,
            kind="span",
            name=name,
            started_at=started_at,
            latency=latency,
            input=[{"role": "user", "content": question}],
            output=answer,
            session_id=session_id,
        ),
        ObservationIn(
            trace_id=trace_id,
            span_id=f"{trace_id}-gen",
            parent_id=trace_id,
            kind="generation",
            name="answer",
            model=model,
            started_at=started_at + timedelta(milliseconds=10),
            latency=latency / 2,
            input=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": question}],
            output=[{"role": "assistant", "content": answer}],
            input_tokens=100,
            output_tokens=20,
            total_cost=Decimal(cost) if cost is not None else None,
            is_error=is_error,
            error="Upstream error 500" if is_error else "",
            http_status=500 if is_error else 200,
        ),
    ]
    store_observations(project, items + (extra or []))


def make_traces(project, count: int, *, start: datetime = T0, **kwargs) -> list[str]:
    """`count` traces one minute apart (newest last), in one batch."""
    ids = []
    for i in range(count):
        ids.append(f"bulk-{i:05d}")
    items: list[ObservationIn] = []
    for i, trace_id in enumerate(ids):
        items.append(
            ObservationIn(
                trace_id=trace_id,
                span_id=f"{trace_id}-gen",
                kind="generation",
                name=f"turn {i}",
                model=kwargs.get("model", "gpt-4o-mini"),
                started_at=start + timedelta(minutes=i),
                latency=1.0,
                input=[{"role": "user", "content": f"question {i}"}],
                output=[{"role": "assistant", "content": f"answer {i}"}],
                input_tokens=10,
                output_tokens=5,
            )
        )
    store_observations(project, items)
    return ids
