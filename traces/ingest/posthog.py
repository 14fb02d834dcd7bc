"""PostHog LLM-analytics events -> `ObservationIn` (SPEC §2.1 item 1).

Mapping:
- `$ai_generation` -> generation, `$ai_span` -> span, `$ai_embedding` -> embedding;
- `$ai_trace` -> a span whose span id *is* the trace id: it names the trace, and everything whose
  parent is the trace id (or that has no parent) hangs under it;
- `$ai_feedback` / `$ai_metric` -> kind "event" (shown in the trace header, not in the tree).
  `type_label` is "feedback" or "metric", `name` the metric name (or "feedback"), `output` the
  feedback text or metric value, and the raw properties stay in `metadata`
  (`$ai_feedback_text`, `$ai_metric_name`, `$ai_metric_value`).

Ids: span id = `$ai_span_id`, else `$ai_generation_id`, else the event uuid (feedback and metric
events always use the uuid, so they never replace the span they are about); without any of
those, a hash of the event's content, so that a re-send is still recognised. The parent is
`$ai_parent_id`, else the trace id (PostHog's own convention: parentless events belong to the
trace); an unknown parent makes the observation a root when the tree is drawn.

Times: PostHog stamps an event when it is captured, which for the SDK wrappers is right after the
call returned. So `timestamp` is taken as the end, and the start is `timestamp - $ai_latency`.
An event without a timestamp is stamped with the time it was received.

Properties without a column of their own are kept in `metadata` (the mapped ones are not repeated
there, and the ingestion key, which must never be stored, is left out).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from projects.models import IngestionKey, hash_key
from traces.ingest.normalise import (
    MAX_ID_LENGTH,
    ObservationIn,
    RejectedEvent,
    as_bool,
    as_cost,
    as_count,
    as_datetime,
    as_float,
    as_int,
    as_str,
)
from traces.models import ObservationKind

logger = logging.getLogger(__name__)

KINDS = {
    "$ai_generation": ObservationKind.GENERATION,
    "$ai_span": ObservationKind.SPAN,
    "$ai_trace": ObservationKind.SPAN,
    "$ai_embedding": ObservationKind.EMBEDDING,
    "$ai_feedback": ObservationKind.EVENT,
    "$ai_metric": ObservationKind.EVENT,
}

# Properties with a column of their own (not repeated in metadata), and secrets never stored.
# The feedback and metric properties stay in metadata: the trace header reads them there.
_MAPPED_PROPERTIES = {
    "$ai_trace_id",
    "$ai_span_id",
    "$ai_generation_id",
    "$ai_parent_id",
    "$ai_span_name",
    "$ai_trace_name",
    "$ai_span_type",
    "$ai_session_id",
    "$ai_model",
    "$ai_provider",
    "$ai_input",
    "$ai_output_choices",
    "$ai_output",
    "$ai_input_state",
    "$ai_output_state",
    "$ai_input_tokens",
    "$ai_output_tokens",
    "$ai_cache_read_input_tokens",
    "$ai_reasoning_tokens",
    "$ai_total_cost_usd",
    "$ai_input_cost_usd",
    "$ai_output_cost_usd",
    "$ai_latency",
    "$ai_http_status",
    "$ai_is_error",
    "$ai_error",
    "$ai_stop_reason",
    "$ai_model_parameters",
    "$ai_tools",
}
_SECRET_PROPERTIES = {"token", "api_key", "$token", "$api_key"}


@dataclass
class ParseResult:
    items: list[ObservationIn] = field(default_factory=list)
    ignored: int = 0
    # (index in the input, reason)
    rejected: list[tuple[int, str]] = field(default_factory=list)


def parse_events(
    events: list[Any], *, defaults: dict | None = None, skip: Mapping[int, str] | None = None
) -> ParseResult:
    """Parse and validate every event; a bad event is reported by its index, never half-kept.

    `skip` maps indexes already refused by the caller (an event with another project's key) to
    their reason; they are reported in order with the others.
    """
    result = ParseResult()
    now = timezone.now()
    skip = skip or {}
    for index, event in enumerate(events):
        if index in skip:
            result.rejected.append((index, skip[index]))
            continue
        try:
            item = parse_event(event, now=now, defaults=defaults)
        except RejectedEvent as exc:
            result.rejected.append((index, str(exc)))
            continue
        except RecursionError:
            result.rejected.append((index, "event is nested too deeply"))
            continue
        except (TypeError, ValueError, ArithmeticError) as exc:
            # Hostile input the mapping did not foresee: this event is refused, the batch is not.
            logger.warning("PostHog event %d could not be mapped: %r", index, exc)
            result.rejected.append((index, "event could not be read"))
            continue
        if item is None:
            result.ignored += 1
        else:
            result.items.append(item)
    return result


def parse_event(
    event: Any, *, now: datetime | None = None, defaults: dict | None = None
) -> ObservationIn | None:
    """One PostHog event as an observation, None for a non-AI event, or RejectedEvent.

    Accepts the capture shape (`event`, `properties`, `timestamp`, `uuid`, `distinct_id`) and the
    shape PostHog's trace API returns (`event`, `id`, `createdAt`, `properties`). `defaults` fills
    fields the event lacks (a trace object's person, for instance).
    """
    if not isinstance(event, dict):
        raise RejectedEvent(f"an event must be a JSON object, not {_type_name(event)}")
    name = event.get("event")
    if not isinstance(name, str) or not name:
        raise RejectedEvent("event name ('event') is missing or not a string")
    kind = KINDS.get(name)
    if kind is None:
        return None
    props = event.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise RejectedEvent(f"'properties' must be an object, not {_type_name(props)}")
    defaults = defaults or {}

    trace_id = _id(props.get("$ai_trace_id"), "$ai_trace_id")
    if not trace_id:
        raise RejectedEvent("properties.$ai_trace_id is missing")
    uuid = _id(event.get("uuid", event.get("id")), "uuid", max_length=64)

    latency = as_float(props.get("$ai_latency"), "$ai_latency")
    if latency is not None and latency < 0:
        raise RejectedEvent("$ai_latency must not be negative")
    stamp = as_datetime(event.get("timestamp", event.get("createdAt")), "timestamp") or now or timezone.now()
    started_at = stamp
    if latency is not None:
        try:
            started_at = stamp - timedelta(seconds=latency)
        except OverflowError:
            raise RejectedEvent("$ai_latency is out of range") from None

    item = ObservationIn(
        trace_id=trace_id,
        span_id="",
        kind=kind,
        source="posthog",
        event_uuid=uuid,
        started_at=started_at,
        ended_at=stamp,
        latency=latency,
        session_id=as_str(
            props.get("$ai_session_id") or props.get("$session_id") or defaults.get("session_id")
        ),
        distinct_id=as_str(
            event.get("distinct_id")
            or props.get("distinct_id")
            or props.get("$distinct_id")
            or defaults.get("distinct_id")
        ),
        metadata={
            k: v for k, v in props.items() if k not in _MAPPED_PROPERTIES and k not in _SECRET_PROPERTIES
        },
    )

    if kind == ObservationKind.EVENT:
        _fill_event(item, name, props, event)
    else:
        _fill_observation(item, name, props, event)
    item.validate()
    return item


def _fill_observation(item: ObservationIn, name: str, props: dict, event: dict) -> None:
    if name == "$ai_trace":
        item.span_id = item.trace_id
        item.parent_id = ""
        item.type_label = "trace"
    else:
        item.span_id = (
            _id(props.get("$ai_span_id"), "$ai_span_id")
            or _id(props.get("$ai_generation_id"), "$ai_generation_id")
            or item.event_uuid
            or _content_id(event)
        )
        parent = _id(props.get("$ai_parent_id"), "$ai_parent_id") or item.trace_id
        item.parent_id = "" if parent == item.span_id else parent
        # The SDK's agent integrations say what a span is: tool, agent, handoff, guardrail, ...
        item.type_label = as_str(props.get("$ai_span_type"), max_length=50)

    item.model = as_str(props.get("$ai_model"))
    item.provider = as_str(props.get("$ai_provider"), max_length=100)
    item.name = as_str(props.get("$ai_span_name") or props.get("$ai_trace_name")) or item.model
    if name in ("$ai_generation", "$ai_embedding"):
        item.input = props.get("$ai_input")
        item.output = props.get("$ai_output_choices", props.get("$ai_output"))
    else:
        item.input = props.get("$ai_input_state")
        item.output = props.get("$ai_output_state")
    item.input_tokens = as_count(props.get("$ai_input_tokens"), "$ai_input_tokens")
    item.output_tokens = as_count(props.get("$ai_output_tokens"), "$ai_output_tokens")
    item.cache_read_tokens = as_count(props.get("$ai_cache_read_input_tokens"), "$ai_cache_read_input_tokens")
    item.reasoning_tokens = as_count(props.get("$ai_reasoning_tokens"), "$ai_reasoning_tokens")
    item.input_cost = as_cost(props.get("$ai_input_cost_usd"), "$ai_input_cost_usd")
    item.output_cost = as_cost(props.get("$ai_output_cost_usd"), "$ai_output_cost_usd")
    item.total_cost = as_cost(props.get("$ai_total_cost_usd"), "$ai_total_cost_usd")
    item.http_status = as_int(props.get("$ai_http_status"), "$ai_http_status")
    error = props.get("$ai_error")
    item.error = as_str(error, max_length=1024 * 1024) if error not in (None, "", False) else ""
    item.is_error = (
        as_bool(props.get("$ai_is_error"))
        or bool(item.error)
        or (item.http_status is not None and item.http_status >= 400)
    )
    item.stop_reason = as_str(props.get("$ai_stop_reason"), max_length=100)
    item.model_parameters = props.get("$ai_model_parameters")
    item.tools = props.get("$ai_tools")


def _fill_event(item: ObservationIn, name: str, props: dict, event: dict) -> None:
    # Always its own id: a feedback event that names a span must not overwrite that span.
    item.span_id = item.event_uuid or _content_id(event)
    item.parent_id = ""
    item.started_at = item.ended_at
    item.latency = None
    if name == "$ai_feedback":
        item.type_label = "feedback"
        item.name = "feedback"
        text = props.get("$ai_feedback_text")
        item.output = text if isinstance(text, str) or text is None else json.dumps(text, default=str)
    else:
        item.type_label = "metric"
        item.name = as_str(props.get("$ai_metric_name")) or "metric"
        value = props.get("$ai_metric_value")
        item.output = value if isinstance(value, (str, int, float)) or value is None else json.dumps(value)


def _id(value: Any, name: str, *, max_length: int = MAX_ID_LENGTH) -> str:
    """An id property as a string: strings and whole numbers are accepted, anything else rejected."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RejectedEvent(f"{name} must be a string, not {_type_name(value)}")
    text = str(value)
    if len(text) > max_length:
        raise RejectedEvent(f"{name} is longer than {max_length} characters")
    return text


def _content_id(event: dict) -> str:
    digest = hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode("utf-8", "replace"))
    return "evt-" + digest.hexdigest()[:32]


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


# --- request bodies and files -------------------------------------------------------------------


class BodyShapeError(ValueError):
    """The body's top level is not one of the accepted shapes; the message says what is wrong."""


def events_from_body(body: Any) -> tuple[list[Any], str | None, bool]:
    """(events, the body's own key, single) from a capture or batch body.

    Accepted: `{"batch": [...], "api_key"}`, one event `{"event", ..., "api_key"|"token"}`, or a
    list of events. The body's key is the batch's `api_key`/`token`, or the single event's (also
    in `properties.token`, where posthog-js puts it); events of a batch or list may carry their
    own key too: see `event_key` and `foreign_key_rejections`.
    """
    if isinstance(body, dict):
        if "batch" in body:
            events = body["batch"]
            if not isinstance(events, list):
                raise BodyShapeError(f"'batch' must be a list of events, not {_type_name(events)}")
            return events, _key_in(body), False
        if "event" in body or "properties" in body:
            return [body], event_key(body), True
        raise BodyShapeError("expected an event object (with 'event') or a batch (with 'batch')")
    if isinstance(body, list):
        return body, None, False
    raise BodyShapeError(f"the body must be a JSON object or list, not {_type_name(body)}")


def event_key(event: Any) -> str | None:
    """The ingestion key an event carries itself (`api_key`, `token` or `properties.token`)."""
    if not isinstance(event, dict):
        return None
    return _key_in(event) or _key_in(event.get("properties"))


def _key_in(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    for name in ("api_key", "token"):
        value = obj.get(name)
        if isinstance(value, str) and value:
            return value
    return None


_KEY_LOOKUP_CHUNK = 1000


def foreign_key_rejections(key: IngestionKey, raw_key: str, event_keys: list[str | None]) -> dict[int, str]:
    """{index: reason} for the events whose own key is not a key of `key`'s project.

    An event is stored in the project its key belongs to, and a request has one project: an
    event that carries an unknown key or another project's key is refused, never stored in the
    request's project. Each distinct key is looked up once (one query per 1000 distinct keys).
    """
    distinct = {k.strip() for k in event_keys if k and k != raw_key}
    if not distinct:
        return {}
    hashes = {hash_key(k): k for k in distinct}
    projects: dict[str, int] = {}
    hash_list = list(hashes)
    for start in range(0, len(hash_list), _KEY_LOOKUP_CHUNK):
        for key_hash, project_id in (
            IngestionKey.objects.active()
            .filter(key_hash__in=hash_list[start : start + _KEY_LOOKUP_CHUNK])
            .values_list("key_hash", "project_id")
        ):
            projects[hashes[key_hash]] = project_id
    reasons: dict[int, str] = {}
    for index, raw in enumerate(event_keys):
        if not raw or raw == raw_key:
            continue
        project_id = projects.get(raw.strip())
        if project_id is None:
            reasons[index] = "the event's own api_key is unknown or revoked"
        elif project_id != key.project_id:
            reasons[index] = "the event's own api_key belongs to another project than the request's key"
    return reasons


def parse_trace_object(obj: dict) -> ParseResult:
    """A trace as PostHog's UI and query API return it: `{"id", "events": [...], ...}`.

    Its events are parsed like captured ones. When no `$ai_trace` event is among them, the trace
    object's own fields (name, input/output state, latency) become the trace's root span, so that
    the trace keeps its name and state.
    """
    trace_id = obj.get("id")
    events = obj.get("events")
    if not isinstance(events, list):
        return ParseResult(rejected=[(-1, "'events' must be a list")])
    person = obj.get("person") if isinstance(obj.get("person"), dict) else {}
    defaults = {"distinct_id": person.get("distinct_id") or obj.get("distinctId") or ""}
    enriched = []
    for event in events:
        if isinstance(event, dict) and isinstance(event.get("properties"), dict):
            props = event["properties"]
            if trace_id and not props.get("$ai_trace_id"):
                event = {**event, "properties": {**props, "$ai_trace_id": trace_id}}
        enriched.append(event)
    result = parse_events(enriched, defaults=defaults)
    has_root = any(isinstance(e, dict) and e.get("event") == "$ai_trace" for e in events)
    if (
        not has_root
        and trace_id
        and (obj.get("traceName") or obj.get("inputState") or obj.get("outputState"))
    ):
        root = {
            "event": "$ai_trace",
            "timestamp": obj.get("createdAt"),
            "properties": {
                "$ai_trace_id": trace_id,
                "$ai_span_name": obj.get("traceName"),
                "$ai_input_state": obj.get("inputState"),
                "$ai_output_state": obj.get("outputState"),
            },
        }
        try:
            item = parse_event(root, defaults=defaults)
        except RejectedEvent as exc:
            result.rejected.append((-1, f"trace: {exc}"))
        else:
            if item is not None:
                # createdAt is the trace's start, not its end.
                item.ended_at = None
                try:
                    item.latency = as_float(obj.get("totalLatency"), "totalLatency")
                except RejectedEvent:
                    item.latency = None
                if item.latency is not None and 0 <= item.latency < 1e8 and item.started_at:
                    item.ended_at = item.started_at + timedelta(seconds=item.latency)
                result.items.insert(0, item)
    return result
