"""Langfuse trace exports -> `ObservationIn` (SPEC §2.1 item 3).

Reads `{"trace": {...}, "observations": [...]}` and the trace object with embedded
`observations` (what Langfuse's UI and public API return).

- Observation types: GENERATION -> generation, EMBEDDING -> embedding, everything else (SPAN,
  AGENT, TOOL, CHAIN, RETRIEVER, EVALUATOR, GUARDRAIL, EVENT, ...) -> span, with the Langfuse type
  kept as `type_label` when it says more than "span".
- `input`/`output`/`metadata` often arrive as JSON text (sometimes encoded twice): parsed back.
- Usage and cost from `usageDetails`/`costDetails` (or the flat `inputUsage`, `totalCost`, ...).
- `level: ERROR` marks an error, with `statusMessage` as the error text.
- The trace itself becomes a root span whose span id is the trace id (as Langfuse draws it:
  the trace above its observations); parentless observations hang under it. It carries the
  trace's name, input, output, tags and metadata.
- Trace scores become "event" observations (`type_label` "metric", shown in the trace header),
  with the same metadata keys as PostHog's `$ai_metric`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from traces.ingest.normalise import (
    ObservationIn,
    RejectedEvent,
    as_cost,
    as_count,
    as_datetime,
    as_float,
    as_str,
    loads_strict_json,
)
from traces.models import ObservationKind

logger = logging.getLogger(__name__)

_PLAIN_TYPES = {"SPAN", "GENERATION", "EMBEDDING"}


def is_langfuse_export(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("trace"), dict) and isinstance(doc.get("observations"), list):
        return True
    return isinstance(doc.get("observations"), list) and "id" in doc and "events" not in doc


def parse_export(doc: dict) -> tuple[list[ObservationIn], list[tuple[str, str]]]:
    """(observations, rejections as (where, reason)) for one exported trace."""
    trace = doc.get("trace") if isinstance(doc.get("trace"), dict) else doc
    observations = doc.get("observations")
    if not isinstance(observations, list):
        observations = trace.get("observations")
    if not isinstance(observations, list):
        observations = []
    items: list[ObservationIn] = []
    rejected: list[tuple[str, str]] = []

    trace_id = trace.get("id")
    if not isinstance(trace_id, str) or not trace_id:
        # Observations carry their trace id too; use it when the trace object has none.
        trace_id = next(
            (o.get("traceId") for o in observations if isinstance(o, dict) and o.get("traceId")), None
        )
    if not isinstance(trace_id, str) or not trace_id:
        return [], [("trace", "trace id ('id') is missing")]

    try:
        session_id = as_str(trace.get("sessionId"), name="sessionId")
        user_id = as_str(trace.get("userId"), name="userId")
    except RejectedEvent as exc:  # every observation would carry it: the trace is refused
        return [], [("trace", str(exc))]
    ids = {o.get("id") for o in observations if isinstance(o, dict) and isinstance(o.get("id"), str)}
    with_root = trace_id not in ids
    if with_root:
        _collect(rejected, "trace", lambda: items.append(_trace_root(trace, trace_id, session_id, user_id)))
    for index, obs in enumerate(observations):
        _collect(
            rejected,
            f"observations[{index}]",
            lambda obs=obs: items.append(_observation(obs, trace_id, session_id, user_id, root=with_root)),
        )
    scores = trace.get("scores")
    for index, score in enumerate(scores if isinstance(scores, list) else []):
        _collect(rejected, f"scores[{index}]", lambda score=score: items.append(_score(score, trace_id)))
    return items, rejected


def _collect(rejected: list[tuple[str, str]], where: str, parse: Callable[[], None]) -> None:
    """Run one record's parse; a bad record is reported where it is and never stops the others."""
    try:
        parse()
    except RejectedEvent as exc:
        rejected.append((where, str(exc)))
    except RecursionError:
        rejected.append((where, "nested too deeply"))
    except (TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        # Shapes the mapping did not foresee: this record is refused, the export is not.
        logger.warning("Langfuse record %s could not be mapped: %r", where, exc)
        rejected.append((where, "could not be read"))


def _trace_root(trace: dict, trace_id: str, session_id: str, user_id: str) -> ObservationIn:
    started = as_datetime(trace.get("timestamp"), "trace.timestamp")
    latency = as_float(trace.get("latency"), "trace.latency")
    metadata = {"tags": trace.get("tags") or []}
    for key in ("environment", "release", "version", "public", "bookmarked"):
        if trace.get(key) not in (None, "", []):
            metadata[key] = trace[key]
    extra = parse_json_text(trace.get("metadata"))
    if extra not in (None, {}, ""):
        metadata["metadata"] = extra
    item = ObservationIn(
        trace_id=trace_id,
        span_id=trace_id,
        kind=ObservationKind.SPAN,
        type_label="trace",
        name=as_str(trace.get("name")),
        source="langfuse",
        started_at=started,
        ended_at=started + timedelta(seconds=latency) if started and latency and 0 <= latency < 1e8 else None,
        latency=latency,
        input=parse_json_text(trace.get("input")),
        output=parse_json_text(trace.get("output")),
        session_id=session_id,
        distinct_id=user_id,
        metadata=metadata,
    )
    item.validate()
    return item


def _observation(obs: Any, trace_id: str, session_id: str, user_id: str, *, root: bool) -> ObservationIn:
    if not isinstance(obs, dict):
        raise RejectedEvent("an observation must be a JSON object")
    span_id = obs.get("id")
    if not isinstance(span_id, str) or not span_id:
        raise RejectedEvent("observation id is missing")
    kind_name = str(obs.get("type") or "SPAN").upper()
    kind = {"GENERATION": ObservationKind.GENERATION, "EMBEDDING": ObservationKind.EMBEDDING}.get(
        kind_name, ObservationKind.SPAN
    )
    parent = obs.get("parentObservationId") or (trace_id if root else "")
    if not isinstance(parent, str):
        raise RejectedEvent("parentObservationId must be a string")

    usage = obs.get("usageDetails") if isinstance(obs.get("usageDetails"), dict) else {}
    legacy = obs.get("usage") if isinstance(obs.get("usage"), dict) else {}
    cost = obs.get("costDetails") if isinstance(obs.get("costDetails"), dict) else {}
    started = as_datetime(obs.get("startTime"), "startTime")
    ended = as_datetime(obs.get("endTime"), "endTime")
    # The times decide: `latency` is seconds in older exports and milliseconds in newer ones.
    if started and ended:
        latency = max((ended - started).total_seconds(), 0.0)
    else:
        latency = as_float(obs.get("latency"), "latency")
    metadata_raw = parse_json_text(obs.get("metadata"))
    level = str(obs.get("level") or "DEFAULT").upper()
    status_message = as_str(obs.get("statusMessage"), max_length=1024 * 1024)

    metadata: dict[str, Any] = {}
    if metadata_raw not in (None, {}, ""):
        metadata["metadata"] = metadata_raw
    for key in (
        "level", "statusMessage", "version", "environment", "completionStartTime", "timeToFirstToken",
        "promptName", "promptVersion", "toolCalls", "toolCallNames", "usageDetails", "costDetails",
    ):  # fmt: skip
        if obs.get(key) not in (None, "", [], {}, "DEFAULT"):
            metadata[key] = obs[key]

    item = ObservationIn(
        trace_id=trace_id,
        span_id=span_id,
        parent_id="" if parent == span_id else parent,
        kind=kind,
        type_label="" if kind_name in _PLAIN_TYPES else kind_name,
        name=as_str(obs.get("name")),
        source="langfuse",
        started_at=started,
        ended_at=ended,
        latency=latency,
        model=as_str(obs.get("model") or obs.get("providedModelName")),
        provider=_provider(metadata_raw),
        input=parse_json_text(obs.get("input")),
        output=parse_json_text(obs.get("output")),
        input_tokens=as_count(
            _first(usage, "input", "prompt_tokens", "promptTokens")
            or _first(legacy, "input", "promptTokens")
            or obs.get("inputUsage")
            or obs.get("promptTokens"),
            "input tokens",
        ),
        output_tokens=as_count(
            _first(usage, "output", "completion_tokens", "completionTokens")
            or _first(legacy, "output", "completionTokens")
            or obs.get("outputUsage")
            or obs.get("completionTokens"),
            "output tokens",
        ),
        cache_read_tokens=as_count(
            _first(usage, "prompt_details.cache_read", "input_cache_read", "cache_read_input_tokens"),
            "cache read tokens",
        ),
        reasoning_tokens=as_count(
            _first(usage, "completion_details.reasoning", "output_reasoning", "reasoning_tokens"),
            "reasoning tokens",
        ),
        input_cost=as_cost(
            _first(cost, "input") or obs.get("inputCost") or obs.get("calculatedInputCost"), "input cost"
        ),
        output_cost=as_cost(
            _first(cost, "output") or obs.get("outputCost") or obs.get("calculatedOutputCost"), "output cost"
        ),
        total_cost=as_cost(
            _first(cost, "total") or obs.get("totalCost") or obs.get("calculatedTotalCost"), "total cost"
        ),
        is_error=level == "ERROR",
        error=status_message if level == "ERROR" else "",
        model_parameters=_non_empty(obs.get("modelParameters")),
        tools=_non_empty(obs.get("toolDefinitions")),
        session_id=session_id,
        distinct_id=user_id,
        metadata=metadata,
    )
    if kind != ObservationKind.GENERATION and kind != ObservationKind.EMBEDDING:
        # Langfuse reports 0 cost on plain spans; keep them free of numbers they did not measure.
        if not item.total_cost:
            item.total_cost = None
        if not item.input_tokens and not item.output_tokens:
            item.input_tokens = item.output_tokens = None
    item.validate()
    return item


def _score(score: Any, trace_id: str) -> ObservationIn:
    if not isinstance(score, dict) or not score.get("id"):
        raise RejectedEvent("a score must be an object with an id")
    value = score.get("stringValue") if score.get("stringValue") not in (None, "") else score.get("value")
    name = as_str(score.get("name")) or "score"
    item = ObservationIn(
        trace_id=trace_id,
        span_id=as_str(f"score-{score['id']}"),
        kind=ObservationKind.EVENT,
        type_label="metric",
        name=name,
        source="langfuse",
        started_at=as_datetime(score.get("timestamp") or score.get("createdAt"), "score timestamp"),
        output=value,
        metadata={
            "$ai_metric_name": name,
            "$ai_metric_value": value,
            "comment": score.get("comment"),
            "source": score.get("source"),
            "dataType": score.get("dataType"),
            "observationId": score.get("observationId"),
        },
    )
    item.ended_at = item.started_at
    item.validate()
    return item


def parse_json_text(value: Any, depth: int = 2) -> Any:
    """A JSON value given as text, decoded (twice at most: some exports encode it twice)."""
    for _ in range(depth):
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text or text[0] not in '{["':
            return value
        try:
            # Strict: text with NaN or Infinity is not JSON, and stays the text it was sent as.
            value = loads_strict_json(text)
        except (ValueError, RecursionError):
            return value
    return value


def _first(mapping: dict, *keys: str) -> Any:
    for key in keys:
        if mapping.get(key) not in (None, ""):
            return mapping[key]
    return None


def _non_empty(value: Any) -> Any:
    return value if value not in (None, {}, [], "") else None


def _provider(metadata: Any) -> str:
    if not isinstance(metadata, dict):
        return ""
    attributes = metadata.get("attributes") if isinstance(metadata.get("attributes"), dict) else metadata
    for key in ("gen_ai.system", "gen_ai.provider.name", "llm.provider", "llm.system", "ai.model.provider"):
        if isinstance(attributes.get(key), str) and attributes[key]:
            return attributes[key][:100]
    return ""
