"""OpenTelemetry traces (OTLP/HTTP, protobuf or JSON) mapped into `ObservationIn` (SPEC §2.1 item 2).

Decoding: a protobuf body is parsed with the `opentelemetry-proto` generated classes and turned
into its standard JSON mapping, so both wire encodings go through one JSON path. That path
accepts the OTLP/JSON spelling (hex ids, integer enums) and the generic protobuf JSON mapping
(base64 ids, enum names), with 64-bit integers as strings or numbers.

Mapping: one span is one observation. The GenAI conventions exist in several dialects, and each
instrumentation emits one of them; `map_span` reads them all and normalises messages to the
OpenAI chat shape the trace page renders: `[{"role", "content", "tool_calls"?, "tool_call_id"?}]`.
  - current `gen_ai.*`: `gen_ai.input.messages` / `gen_ai.output.messages` /
    `gen_ai.system_instructions` (JSON, messages made of typed "parts");
  - OpenLLMetry's older indexed `gen_ai.prompt.N.*` / `gen_ai.completion.N.*`;
  - `gen_ai.content.prompt` / `gen_ai.content.completion` span events and the per-message
    log-style events (`gen_ai.user.message`, `gen_ai.choice`, ...) when recorded on the span;
  - OpenInference (Phoenix): `llm.input_messages.N.message.*`, `input.value` / `output.value`,
    `openinference.span.kind`, `llm.token_count.*`;
  - Langfuse SDK: `langfuse.observation.*` (type, input, output, model, usage and cost details);
  - Vercel AI SDK: `ai.prompt.messages`, `ai.response.text`, `ai.usage.*`.
Attributes that feed a column are consumed; every other one is kept in the metadata together
with the resource and the instrumentation scope, so nothing the client sent is lost.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from traces.ingest.normalise import (
    ObservationIn,
    RejectedEvent,
    as_bigint,
    as_cost,
    as_str,
    loads_strict_json,
)
from traces.models import ObservationKind

logger = logging.getLogger(__name__)

SOURCE = "otlp"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_REASONS_IN_MESSAGE = 20


class OtlpError(ValueError):
    """The body as a whole is not an OTLP trace export (answered with 400)."""


# --- decoding ---------------------------------------------------------------------------------


def parse_otlp_protobuf(body: bytes) -> tuple[list[ObservationIn], list[dict]]:
    """Decode a binary `ExportTraceServiceRequest` and map its spans; OtlpError if it does not parse."""
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise OtlpError(f"body is not a valid OTLP protobuf ExportTraceServiceRequest: {exc}") from None
    return parse_otlp_json(json_format.MessageToDict(request))


def parse_otlp_json(doc: dict) -> tuple[list[ObservationIn], list[dict]]:
    """Map an OTLP JSON export (`{"resourceSpans": [...]}`) to observations.

    Returns the observations and the rejected spans as `{"index": i, "reason": ...}`, where `i`
    counts spans in document order across all resources and scopes. OtlpError when `doc` is not
    an export at all.
    """
    if not isinstance(doc, dict):
        raise OtlpError("an OTLP export must be a JSON object with resourceSpans")
    resource_spans = _get(doc, "resourceSpans")
    if resource_spans is None:
        resource_spans = []
    if not isinstance(resource_spans, list):
        raise OtlpError("resourceSpans must be a list")
    items: list[ObservationIn] = []
    rejected: list[dict] = []
    index = 0
    for resource_span in resource_spans:
        if not isinstance(resource_span, dict):
            raise OtlpError("each resourceSpans entry must be an object")
        resource = _get(resource_span, "resource") or {}
        resource_attrs = attributes_to_dict(
            _get(resource, "attributes") if isinstance(resource, dict) else None
        )
        scope_spans = _get(resource_span, "scopeSpans")
        if scope_spans is None:
            scope_spans = _get(resource_span, "instrumentationLibrarySpans") or []  # pre-1.0 exporters
        if not isinstance(scope_spans, list):
            raise OtlpError("scopeSpans must be a list")
        for scope_span in scope_spans:
            if not isinstance(scope_span, dict):
                raise OtlpError("each scopeSpans entry must be an object")
            scope = _get(scope_span, "scope") or _get(scope_span, "instrumentationLibrary") or {}
            scope_info = _scope_info(scope)
            spans = _get(scope_span, "spans") or []
            if not isinstance(spans, list):
                raise OtlpError("spans must be a list")
            for span in spans:
                try:
                    if not isinstance(span, dict):
                        raise RejectedEvent("a span must be an object")
                    item = map_span(span, resource_attrs, scope_info)
                    item.validate()
                except RejectedEvent as exc:
                    rejected.append({"index": index, "reason": str(exc)})
                except RecursionError:
                    rejected.append({"index": index, "reason": "the span is nested too deeply"})
                except (TypeError, ValueError, ArithmeticError) as exc:
                    # Input the mapping did not foresee: this span is refused, the export is not.
                    logger.warning("OTLP span %d could not be mapped: %r", index, exc)
                    rejected.append({"index": index, "reason": "the span could not be read"})
                else:
                    items.append(item)
                index += 1
    return items, rejected


def export_response(rejected: list[dict], *, as_json: bool) -> tuple[bytes, str]:
    """The `ExportTraceServiceResponse` body in the request's encoding, with partial success."""
    response = ExportTraceServiceResponse()
    if rejected:
        reasons = "; ".join(f"span {r['index']}: {r['reason']}" for r in rejected[:MAX_REASONS_IN_MESSAGE])
        if len(rejected) > MAX_REASONS_IN_MESSAGE:
            reasons += f"; and {len(rejected) - MAX_REASONS_IN_MESSAGE} more"
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=len(rejected), error_message=reasons)
        )
    if not as_json:
        return response.SerializeToString(), "application/x-protobuf"
    body = json_format.MessageToDict(response)
    if rejected:
        # Not part of OTLP (receivers ignore unknown fields): the per-span list SPEC §2.1 asks for.
        body["rejected"] = rejected
    return json.dumps(body).encode(), "application/json"


def _get(obj: dict, camel: str) -> Any:
    """A field by its JSON name, or by its proto field name (snake_case), which parsers accept too."""
    if camel in obj:
        return obj[camel]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()
    return obj.get(snake)


def _scope_info(scope: Any) -> dict:
    if not isinstance(scope, dict):
        return {}
    info: dict[str, Any] = {}
    for key in ("name", "version"):
        if scope.get(key):
            info[key] = str(scope[key])
    attrs = attributes_to_dict(scope.get("attributes"))
    if attrs:
        info["attributes"] = attrs
    return info


def any_value(value: Any) -> Any:
    """An OTLP AnyValue as a plain Python value (int64 accepted as a string or a number)."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value or "string_value" in value:
        return _get(value, "stringValue")
    if "boolValue" in value or "bool_value" in value:
        raw = _get(value, "boolValue")
        return raw if isinstance(raw, bool) else str(raw).lower() == "true"
    if "intValue" in value or "int_value" in value:
        raw = _get(value, "intValue")
        try:
            return int(raw)
        except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity, 1e400
            try:
                return int(float(raw))
            except (TypeError, ValueError, OverflowError):
                # Kept as sent; a non-finite number is kept as its text, like a double's.
                return str(raw) if isinstance(raw, float) else raw
    if "doubleValue" in value or "double_value" in value:
        raw = _get(value, "doubleValue")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            return raw
        # NaN and infinities are not JSON: keep them as the string the client sent.
        return number if number == number and abs(number) != float("inf") else str(raw)
    if "arrayValue" in value or "array_value" in value:
        array = _get(value, "arrayValue") or {}
        values = array.get("values", []) if isinstance(array, dict) else []
        return [any_value(v) for v in values] if isinstance(values, list) else []
    if "kvlistValue" in value or "kvlist_value" in value:
        kvlist = _get(value, "kvlistValue") or {}
        return attributes_to_dict(kvlist.get("values") if isinstance(kvlist, dict) else None)
    if "bytesValue" in value or "bytes_value" in value:
        return _get(value, "bytesValue")  # base64 text as sent; shown, never decoded
    return None


def attributes_to_dict(attributes: Any) -> dict[str, Any]:
    if not isinstance(attributes, list):
        return {}
    out: dict[str, Any] = {}
    for attribute in attributes:
        if isinstance(attribute, dict) and isinstance(attribute.get("key"), str):
            out[attribute["key"]] = any_value(attribute.get("value"))
    return out


_HEX = re.compile(r"^[0-9a-fA-F]+$")


def decode_id(value: Any, size: int, name: str) -> str:
    """A trace (16 bytes) or span (8 bytes) id as lowercase hex; "" when absent or all zeros.

    OTLP/JSON sends hex; the generic protobuf JSON mapping sends base64; both are accepted.
    """
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise RejectedEvent(f"{name} must be a string")
    text = value.strip()
    if len(text) == size * 2 and _HEX.match(text):
        hex_id = text.lower()
    else:
        try:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != size:
            raise RejectedEvent(
                f"{name} must be {size * 2} hex digits (or {size} bytes in base64), got {text[:40]!r}"
            )
        hex_id = raw.hex()
    return "" if set(hex_id) == {"0"} else hex_id


def unix_nanos(value: Any, name: str) -> datetime | None:
    nanos = as_bigint(value, name)
    if not nanos:
        return None
    if nanos < 0:
        raise RejectedEvent(f"{name} must not be negative")
    try:
        return EPOCH + timedelta(microseconds=nanos // 1000)
    except OverflowError:
        raise RejectedEvent(f"{name} is out of range") from None


# --- mapping one span -------------------------------------------------------------------------

_STATUS_ERROR = {2, "2", "STATUS_CODE_ERROR", "ERROR"}
_SPAN_KINDS = {
    0: "UNSPECIFIED",
    1: "INTERNAL",
    2: "SERVER",
    3: "CLIENT",
    4: "PRODUCER",
    5: "CONSUMER",
}
_GENERATION_OPERATIONS = {
    "chat",
    "text_completion",
    "completion",
    "generate_content",
    "generate",
    "responses",
}
_EMBEDDING_OPERATIONS = {"embeddings", "embedding", "embed"}
_LABELLED_OPERATIONS = {"execute_tool": "TOOL", "invoke_agent": "AGENT", "create_agent": "AGENT"}


class _Attrs:
    """Span attributes with a record of which ones were consumed into columns."""

    def __init__(self, attrs: dict[str, Any]):
        self.attrs = attrs
        self.used: set[str] = set()

    def get(self, *keys: str) -> Any:
        """The first present, non-empty value among `keys` (all of them marked as consumed)."""
        found = None
        for key in keys:
            if key in self.attrs:
                self.used.add(key)
                value = self.attrs[key]
                if found is None and value not in (None, "", [], {}):
                    found = value
        return found

    def peek(self, key: str) -> Any:
        return self.attrs.get(key)

    def indexed(self, prefix: str) -> dict[int, dict[str, Any]]:
        """`prefix.N.rest` attributes grouped by N: {N: {rest: value}} (all consumed)."""
        groups: dict[int, dict[str, Any]] = {}
        start = prefix + "."
        for key, value in self.attrs.items():
            if not key.startswith(start):
                continue
            number, _, rest = key[len(start) :].partition(".")
            if number.isdigit() and rest:
                groups.setdefault(int(number), {})[rest] = value
                self.used.add(key)
        return dict(sorted(groups.items()))

    def rest(self) -> dict[str, Any]:
        return {k: v for k, v in self.attrs.items() if k not in self.used}


def map_span(span: dict, resource_attrs: dict[str, Any], scope: dict) -> ObservationIn:
    """One OTLP span (JSON mapping) as an observation; RejectedEvent when it cannot be stored."""
    trace_id = decode_id(_get(span, "traceId"), 16, "traceId")
    if not trace_id:
        raise RejectedEvent("traceId is missing")
    span_id = decode_id(_get(span, "spanId"), 8, "spanId")
    if not span_id:
        raise RejectedEvent("spanId is missing")
    parent_id = decode_id(_get(span, "parentSpanId"), 8, "parentSpanId")
    started_at = unix_nanos(_get(span, "startTimeUnixNano"), "startTimeUnixNano")
    ended_at = unix_nanos(_get(span, "endTimeUnixNano"), "endTimeUnixNano")
    latency = (
        (ended_at - started_at).total_seconds()
        if started_at and ended_at and ended_at >= started_at
        else None
    )

    attrs = _Attrs(attributes_to_dict(_get(span, "attributes")))
    events = _events(_get(span, "events"))
    name = as_str(span.get("name"))

    item = ObservationIn(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=parent_id if parent_id != span_id else "",
        name=name,
        source=SOURCE,
        started_at=started_at,
        ended_at=ended_at,
        latency=latency,
    )
    item.kind, item.type_label = _kind(attrs, name)
    # The response model is the one that answered; the requested one stays in the metadata.
    item.model = as_str(
        attrs.get(
            "langfuse.observation.model.name", "gen_ai.response.model", "llm.model_name", "ai.response.model"
        )
        or attrs.get("gen_ai.request.model", "ai.model.id")
    )
    item.provider = as_str(
        attrs.get("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system", "ai.model.provider"),
        max_length=100,
    )
    _usage(item, attrs)
    _cost(item, attrs)
    _content(item, attrs, events)
    _errors(item, attrs, span, events)
    item.model_parameters = _model_parameters(attrs)
    item.tools = _tools(attrs)
    item.session_id = as_str(
        attrs.get(
            "session.id", "langfuse.session.id", "gen_ai.conversation.id", "ai.telemetry.metadata.sessionId"
        )
        or resource_attrs.get("session.id")
    )
    item.distinct_id = as_str(
        attrs.get("user.id", "langfuse.user.id", "enduser.id", "ai.telemetry.metadata.userId")
        or resource_attrs.get("user.id")
        or resource_attrs.get("enduser.id")
    )
    http_status = _number(attrs.get("http.response.status_code", "http.status_code"), "HTTP status")
    item.http_status = http_status if http_status is not None and 0 <= http_status < 1000 else None

    metadata: dict[str, Any] = {"attributes": attrs.rest()}
    otel: dict[str, Any] = {}
    kind = _get(span, "kind")
    if kind not in (None, "", 0, "SPAN_KIND_UNSPECIFIED"):
        otel["span_kind"] = (
            _SPAN_KINDS.get(kind, str(kind).removeprefix("SPAN_KIND_"))
            if isinstance(kind, int)
            else str(kind).removeprefix("SPAN_KIND_")
        )
    status = _get(span, "status")
    if isinstance(status, dict) and status:
        otel["status"] = status
    if events:
        otel["events"] = events
    links = _get(span, "links")
    if links:
        otel["links"] = links
    if _get(span, "traceState"):
        otel["trace_state"] = _get(span, "traceState")
    if otel:
        metadata["otel"] = otel
    if resource_attrs:
        metadata["resource"] = resource_attrs
    if scope:
        metadata["scope"] = scope
    item.metadata = metadata
    return item


def _events(raw: Any) -> list[dict]:
    if not isinstance(raw, list):
        return []
    out = []
    for event in raw:
        if not isinstance(event, dict):
            continue
        entry: dict[str, Any] = {"name": as_str(event.get("name"))}
        time = _get(event, "timeUnixNano")
        if time not in (None, "", 0, "0"):
            entry["time_unix_nano"] = str(time)
        entry["attributes"] = attributes_to_dict(event.get("attributes"))
        out.append(entry)
    return out


def _kind(attrs: _Attrs, name: str) -> tuple[str, str]:
    """(kind, type label): generation / embedding / span; agents, tools, chains... keep their name."""
    langfuse_type = attrs.get("langfuse.observation.type")
    if isinstance(langfuse_type, str) and langfuse_type:
        lowered = langfuse_type.lower()
        if lowered == "generation":
            return ObservationKind.GENERATION, ""
        if lowered == "embedding":
            return ObservationKind.EMBEDDING, ""
        return ObservationKind.SPAN, "" if lowered == "span" else lowered.upper()[:50]
    openinference = attrs.get("openinference.span.kind")
    if isinstance(openinference, str) and openinference:
        upper = openinference.upper()
        if upper == "LLM":
            return ObservationKind.GENERATION, ""
        if upper == "EMBEDDING":
            return ObservationKind.EMBEDDING, ""
        return ObservationKind.SPAN, upper[:50]
    operation = attrs.peek("gen_ai.operation.name")
    if isinstance(operation, str) and operation:
        attrs.get("gen_ai.operation.name")
        lowered = operation.lower()
        if lowered in _GENERATION_OPERATIONS:
            return ObservationKind.GENERATION, ""
        if lowered in _EMBEDDING_OPERATIONS:
            return ObservationKind.EMBEDDING, ""
        if lowered in _LABELLED_OPERATIONS:
            return ObservationKind.SPAN, _LABELLED_OPERATIONS[lowered]
        return ObservationKind.SPAN, lowered.upper()[:50]
    request_type = attrs.peek("llm.request.type")  # OpenLLMetry before gen_ai.operation.name
    if isinstance(request_type, str) and request_type:
        if request_type.lower() in {"chat", "completion"}:
            return ObservationKind.GENERATION, ""
        if request_type.lower() in {"embedding", "embeddings"}:
            return ObservationKind.EMBEDDING, ""
    traceloop_kind = attrs.peek("traceloop.span.kind")
    if isinstance(traceloop_kind, str) and traceloop_kind:
        return ObservationKind.SPAN, traceloop_kind.upper()[:50]
    if name.startswith("ai.") and (name.endswith(".doGenerate") or name.endswith(".doStream")):
        return ObservationKind.GENERATION, ""  # Vercel AI SDK's provider call
    if name.startswith("ai.embed"):
        return ObservationKind.EMBEDDING, ""
    if any(k.startswith(("gen_ai.usage.", "gen_ai.input.messages", "gen_ai.prompt")) for k in attrs.attrs):
        return ObservationKind.GENERATION, ""
    return ObservationKind.SPAN, ""


def _first(*values: Any) -> Any:
    """The first value that is not None (0 is a value: "no cached tokens" is worth showing)."""
    return next((v for v in values if v is not None), None)


def _number(value: Any, name: str) -> int | None:
    try:
        return as_bigint(value, name)
    except RejectedEvent:
        return None


def _usage(item: ObservationIn, attrs: _Attrs) -> None:
    details = _json_value(attrs.get("langfuse.observation.usage_details"))
    details = details if isinstance(details, dict) else {}

    def detail(*keys: str) -> Any:
        for key in keys:
            node: Any = details
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node not in (None, ""):
                return node
        return None

    item.input_tokens = _number(
        _first(
            attrs.get(
                "gen_ai.usage.input_tokens",
                "gen_ai.usage.prompt_tokens",
                "llm.token_count.prompt",
                "llm.usage.prompt_tokens",
                "ai.usage.inputTokens",
                "ai.usage.promptTokens",
            ),
            detail("input", "prompt_tokens", "input_tokens", "promptTokens"),
        ),
        "input tokens",
    )
    item.output_tokens = _number(
        _first(
            attrs.get(
                "gen_ai.usage.output_tokens",
                "gen_ai.usage.completion_tokens",
                "llm.token_count.completion",
                "llm.usage.completion_tokens",
                "ai.usage.outputTokens",
                "ai.usage.completionTokens",
            ),
            detail("output", "completion_tokens", "output_tokens", "completionTokens"),
        ),
        "output tokens",
    )
    item.cache_read_tokens = _number(
        _first(
            attrs.get(
                "gen_ai.usage.cache_read.input_tokens",
                "gen_ai.usage.cache_read_input_tokens",
                "llm.token_count.prompt_details.cache_read",
                "ai.usage.cachedInputTokens",
            ),
            detail("input_cached_tokens", "cache_read_input_tokens", "prompt_tokens_details.cached_tokens"),
        ),
        "cache read tokens",
    )
    item.reasoning_tokens = _number(
        _first(
            attrs.get(
                "gen_ai.usage.reasoning_tokens",
                "gen_ai.usage.reasoning.output_tokens",
                "llm.token_count.completion_details.reasoning",
                "ai.usage.reasoningTokens",
            ),
            detail(
                "output_reasoning_tokens", "reasoning_tokens", "completion_tokens_details.reasoning_tokens"
            ),
        ),
        "reasoning tokens",
    )
    attrs.get(
        "gen_ai.usage.total_tokens", "llm.token_count.total", "llm.usage.total_tokens", "ai.usage.totalTokens"
    )
    if details and item.input_tokens is None and item.output_tokens is None and detail("total") is not None:
        item.input_tokens = _number(detail("total"), "total tokens")


def _money(value: Any, name: str) -> Decimal | None:
    # A cost that is not a number, negative or out of range refuses the span (like PostHog's).
    return as_cost(value, name)


def _cost(item: ObservationIn, attrs: _Attrs) -> None:
    details = _json_value(attrs.get("langfuse.observation.cost_details"))
    details = details if isinstance(details, dict) else {}
    item.input_cost = _money(
        details.get("input") if details else attrs.get("llm.cost.prompt", "gen_ai.usage.input_cost"),
        "langfuse.observation.cost_details.input" if details else "input cost (llm.cost.prompt)",
    )
    item.output_cost = _money(
        details.get("output") if details else attrs.get("llm.cost.completion", "gen_ai.usage.output_cost"),
        "langfuse.observation.cost_details.output" if details else "output cost (llm.cost.completion)",
    )
    item.total_cost = _money(
        details.get("total") if details else attrs.get("llm.cost.total", "gen_ai.usage.cost"),
        "langfuse.observation.cost_details.total" if details else "cost (llm.cost.total / gen_ai.usage.cost)",
    )


def _json_value(value: Any) -> Any:
    """Attribute values that carry JSON arrive as strings: decode them, else keep the string.

    Decoded strictly: text with NaN or Infinity (what Python's json.dumps writes for them) is not
    JSON and stays the text it was sent as. JSON nested beyond Python's stack refuses the span,
    like any value nested too deeply (see normalise.clean_json).
    """
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[", '"'):
            try:
                return loads_strict_json(text)
            except ValueError:
                return value
            except RecursionError:
                raise RejectedEvent("an attribute holds JSON nested too deeply") from None
    return value


# --- messages ---------------------------------------------------------------------------------


def _text_or_parts(parts: list[Any]) -> Any:
    """OpenAI content: a string when every part is text, else the list of parts."""
    if all(isinstance(p, dict) and p.get("type") == "text" for p in parts):
        return "\n".join(str(p.get("text", "")) for p in parts)
    return parts


def _tool_call(call_id: Any, name: Any, arguments: Any) -> dict:
    if not isinstance(arguments, str) and arguments is not None:
        arguments = json.dumps(arguments, ensure_ascii=False, default=str)
    call = {"type": "function", "function": {"name": as_str(name), "arguments": arguments or ""}}
    if call_id:
        call = {"id": str(call_id), **call}
    return call


def genai_messages(value: Any) -> list[dict] | None:
    """`gen_ai.input.messages` / `gen_ai.output.messages` (messages of typed parts) in OpenAI shape."""
    value = _json_value(value)
    if not isinstance(value, list):
        return None
    out: list[dict] = []
    for message in value:
        if not isinstance(message, dict):
            out.append({"role": "user", "content": message})
            continue
        if "parts" not in message:  # already OpenAI-like (some emitters do this)
            out.append(message)
            continue
        role = message.get("role") or "user"
        content: list[Any] = []
        tool_calls: list[dict] = []
        for part in message.get("parts") or []:
            if not isinstance(part, dict):
                content.append({"type": "text", "text": str(part)})
                continue
            kind = part.get("type")
            if kind == "text":
                content.append({"type": "text", "text": part.get("content", "")})
            elif kind == "reasoning":
                content.append({"type": "reasoning", "text": part.get("content", "")})
            elif kind == "tool_call":
                tool_calls.append(_tool_call(part.get("id"), part.get("name"), part.get("arguments")))
            elif kind == "tool_call_response":
                response = part.get("response", part.get("result"))
                if not isinstance(response, str):
                    response = json.dumps(response, ensure_ascii=False, default=str)
                out.append({"role": "tool", "tool_call_id": str(part.get("id") or ""), "content": response})
            elif kind == "uri" and part.get("modality") == "image":
                content.append({"type": "image_url", "image_url": {"url": part.get("uri", "")}})
            else:
                content.append(part)
        if content or tool_calls or role != "tool":
            entry: dict[str, Any] = {"role": role, "content": _text_or_parts(content) if content else None}
            if tool_calls:
                entry["tool_calls"] = tool_calls
            if message.get("name"):
                entry["name"] = message["name"]
            if message.get("finish_reason"):
                entry["finish_reason"] = message["finish_reason"]
            out.append(entry)
    return out


def _system_instructions(value: Any) -> dict | None:
    value = _json_value(value)
    if isinstance(value, str):
        return {"role": "system", "content": value}
    if isinstance(value, list):
        texts = [
            str(p.get("content", "")) if isinstance(p, dict) else str(p)
            for p in value
            if not isinstance(p, dict) or p.get("type", "text") == "text"
        ]
        return {"role": "system", "content": "\n".join(texts)}
    return None


def _indexed_messages(groups: dict[int, dict[str, Any]], default_role: str) -> list[dict]:
    """OpenLLMetry's `gen_ai.prompt.N.{role,content,tool_calls.M.*,tool_call_id}`."""
    out = []
    for fields in groups.values():
        message: dict[str, Any] = {"role": fields.get("role") or default_role}
        content = (
            _json_value(fields.get("content")) if str(fields.get("content", "")).startswith("[") else None
        )
        message["content"] = content if isinstance(content, list) else fields.get("content")
        calls: dict[int, dict[str, Any]] = {}
        for key, value in fields.items():
            match = re.match(r"^tool_calls\.(\d+)\.(.+)$", key)
            if match:
                calls.setdefault(int(match.group(1)), {})[match.group(2)] = value
        if calls:
            message["tool_calls"] = [
                _tool_call(c.get("id"), c.get("name"), c.get("arguments")) for _, c in sorted(calls.items())
            ]
        if fields.get("function_call.name"):
            message["tool_calls"] = [
                _tool_call(None, fields.get("function_call.name"), fields.get("function_call.arguments"))
            ]
        if fields.get("tool_call_id"):
            message["tool_call_id"] = fields["tool_call_id"]
        if fields.get("finish_reason"):
            message["finish_reason"] = fields["finish_reason"]
        out.append(message)
    return out


def _openinference_messages(groups: dict[int, dict[str, Any]]) -> list[dict]:
    """OpenInference's `llm.input_messages.N.message.{role,content,contents.M.*,tool_calls.M.*}`."""
    out = []
    for fields in groups.values():
        fields = {k.removeprefix("message."): v for k, v in fields.items()}
        message: dict[str, Any] = {"role": fields.get("role") or "user"}
        parts: dict[int, dict[str, Any]] = {}
        calls: dict[int, dict[str, Any]] = {}
        for key, value in fields.items():
            match = re.match(r"^contents\.(\d+)\.message_content\.(.+)$", key)
            if match:
                parts.setdefault(int(match.group(1)), {})[match.group(2)] = value
            match = re.match(r"^tool_calls\.(\d+)\.tool_call\.(.+)$", key)
            if match:
                calls.setdefault(int(match.group(1)), {})[match.group(2)] = value
        if "content" in fields:
            message["content"] = fields["content"]
        elif parts:
            content = []
            for _, part in sorted(parts.items()):
                if part.get("type") == "image" or "image.image.url" in part:
                    content.append(
                        {"type": "image_url", "image_url": {"url": part.get("image.image.url", "")}}
                    )
                else:
                    content.append({"type": "text", "text": part.get("text", "")})
            message["content"] = _text_or_parts(content)
        else:
            message["content"] = None
        if calls:
            message["tool_calls"] = [
                _tool_call(c.get("id"), c.get("function.name"), c.get("function.arguments"))
                for _, c in sorted(calls.items())
            ]
        if fields.get("tool_call_id"):
            message["tool_call_id"] = fields["tool_call_id"]
        if fields.get("name"):
            message["name"] = fields["name"]
        out.append(message)
    return out


_LOG_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


def _event_messages(events: list[dict]) -> tuple[list[dict] | None, list[dict] | None]:
    """Messages recorded as span events: OpenLLMetry's `gen_ai.content.prompt`/`.completion`
    (or events named `gen_ai.prompt`/`gen_ai.completion`), and the per-message log-style events."""
    inputs: list[dict] = []
    outputs: list[dict] = []
    for event in events:
        name = event["name"]
        attributes = event["attributes"]
        if name in {"gen_ai.content.prompt", "gen_ai.prompt"}:
            value = _json_value(attributes.get("gen_ai.prompt"))
            inputs.extend(_as_messages(value, "user") or [])
        elif name in {"gen_ai.content.completion", "gen_ai.completion"}:
            value = _json_value(attributes.get("gen_ai.completion"))
            outputs.extend(_as_messages(value, "assistant") or [])
        elif name in _LOG_EVENT_ROLES:
            message: dict[str, Any] = {
                "role": _LOG_EVENT_ROLES[name],
                # Text stays text even when it looks like JSON; structured content arrives as such.
                "content": attributes.get("content"),
            }
            if attributes.get("tool_calls"):
                calls = _json_value(attributes["tool_calls"])
                message["tool_calls"] = calls if isinstance(calls, list) else [calls]
            if attributes.get("id") and name == "gen_ai.tool.message":
                message["tool_call_id"] = attributes["id"]
            inputs.append(message)
        elif name == "gen_ai.choice":
            body = _json_value(attributes.get("message"))
            if isinstance(body, dict):
                message = {"role": body.get("role") or "assistant", "content": body.get("content")}
                if body.get("tool_calls"):
                    message["tool_calls"] = body["tool_calls"]
            else:
                message = {"role": "assistant", "content": attributes.get("content", body)}
            if attributes.get("finish_reason"):
                message["finish_reason"] = attributes["finish_reason"]
            outputs.append(message)
        elif name == "gen_ai.client.inference.operation.details":
            inputs.extend(genai_messages(attributes.get("gen_ai.input.messages")) or [])
            outputs.extend(genai_messages(attributes.get("gen_ai.output.messages")) or [])
    return inputs or None, outputs or None


def _as_messages(value: Any, default_role: str) -> list[dict] | None:
    """A value that may be a message list, one message, a chat completion or plain text."""
    if value is None:
        return None
    if isinstance(value, list):
        if value and all(isinstance(m, dict) and "parts" in m and "role" in m for m in value):
            return genai_messages(value)
        if value and all(isinstance(m, dict) and "role" in m for m in value):
            return value
        return None
    if isinstance(value, dict):
        if "role" in value and ("content" in value or "tool_calls" in value):
            return [value]
        choices = value.get("choices")
        if isinstance(choices, list) and choices:  # an OpenAI chat completion response
            messages = [
                c.get("message")
                for c in choices
                if isinstance(c, dict) and isinstance(c.get("message"), dict)
            ]
            return messages or None
        if isinstance(value.get("messages"), list):  # a request body with its messages
            return _as_messages(value["messages"], default_role)
        return None
    if isinstance(value, str):
        return [{"role": default_role, "content": value}]
    return None


def _content(item: ObservationIn, attrs: _Attrs, events: list[dict]) -> None:
    """Input and output: messages in OpenAI shape for model calls, the value as sent otherwise."""
    is_model_call = item.kind == ObservationKind.GENERATION

    # Langfuse: the SDK already says what the input and output are.
    lf_input = attrs.get("langfuse.observation.input")
    lf_output = attrs.get("langfuse.observation.output")

    input_messages = genai_messages(attrs.get("gen_ai.input.messages"))
    system = _system_instructions(attrs.get("gen_ai.system_instructions"))
    if input_messages is None:
        prompt = attrs.indexed("gen_ai.prompt")
        input_messages = _indexed_messages(prompt, "user") if prompt else None
    if input_messages is None:
        oi = attrs.indexed("llm.input_messages")
        input_messages = _openinference_messages(oi) if oi else None
    output_messages = genai_messages(attrs.get("gen_ai.output.messages"))
    if output_messages is None:
        completion = attrs.indexed("gen_ai.completion")
        output_messages = _indexed_messages(completion, "assistant") if completion else None
    if output_messages is None:
        oi = attrs.indexed("llm.output_messages")
        output_messages = _openinference_messages(oi) if oi else None
    if input_messages is None or output_messages is None:
        # Pydantic AI / Logfire (before they adopted gen_ai.input.messages) put the same
        # log-style events in one JSON attribute, "events", each naming itself in "event.name".
        logged = _json_value(attrs.peek("events"))
        if isinstance(logged, list) and any(isinstance(e, dict) and "event.name" in e for e in logged):
            attrs.get("events")
            events = events + [
                {"name": str(e["event.name"]), "attributes": e}
                for e in logged
                if isinstance(e, dict) and "event.name" in e
            ]
        event_in, event_out = _event_messages(events)
        input_messages = input_messages if input_messages is not None else event_in
        output_messages = output_messages if output_messages is not None else event_out
    # Plain `gen_ai.prompt` / `gen_ai.completion` attributes (older emitters, one JSON value each).
    if input_messages is None and attrs.peek("gen_ai.prompt") is not None:
        input_messages = _as_messages(_json_value(attrs.get("gen_ai.prompt")), "user")
    if output_messages is None and attrs.peek("gen_ai.completion") is not None:
        output_messages = _as_messages(_json_value(attrs.get("gen_ai.completion")), "assistant")
    # Vercel AI SDK.
    if input_messages is None and attrs.peek("ai.prompt.messages") is not None:
        input_messages = _vercel_messages(_json_value(attrs.get("ai.prompt.messages")))
    if output_messages is None and (
        attrs.peek("ai.response.text") is not None or attrs.peek("ai.response.toolCalls")
    ):
        output_messages = _vercel_output(
            attrs.get("ai.response.text"), _json_value(attrs.get("ai.response.toolCalls"))
        )

    if system is not None:
        input_messages = [system, *(input_messages or [])]

    value_in = _json_value(attrs.get("input.value"))
    value_out = _json_value(attrs.get("output.value"))
    tool_args = _json_value(attrs.get("gen_ai.tool.call.arguments"))
    tool_result = _json_value(attrs.get("gen_ai.tool.call.result"))

    if lf_input is not None:
        parsed = _json_value(lf_input)
        item.input = (
            (_as_messages(parsed, "user") or parsed)
            if is_model_call and not isinstance(parsed, str)
            else parsed
        )
    elif input_messages is not None:
        item.input = input_messages
    elif value_in is not None:
        item.input = (
            _as_messages(value_in, "user") if is_model_call and not isinstance(value_in, str) else None
        ) or value_in
    elif tool_args is not None:
        item.input = tool_args
    elif attrs.peek("ai.prompt") is not None:
        item.input = _json_value(attrs.get("ai.prompt"))

    if lf_output is not None:
        parsed = _json_value(lf_output)
        item.output = (_as_messages(parsed, "assistant") or parsed) if is_model_call else parsed
    elif output_messages is not None:
        item.output = output_messages
    elif value_out is not None:
        item.output = (_as_messages(value_out, "assistant") if is_model_call else None) or value_out
    elif tool_result is not None:
        item.output = tool_result

    finish = attrs.get("gen_ai.response.finish_reasons", "llm.finish_reason", "ai.response.finishReason")
    if isinstance(finish, list):
        finish = finish[0] if finish else None
    if not finish and isinstance(item.output, list):
        finish = next(
            (m.get("finish_reason") for m in item.output if isinstance(m, dict) and m.get("finish_reason")),
            None,
        )
    item.stop_reason = as_str(finish, max_length=100)


def _vercel_messages(value: Any) -> list[dict] | None:
    if not isinstance(value, list):
        return None
    out = []
    for message in value:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        entry: dict[str, Any] = {"role": message.get("role") or "user"}
        if isinstance(content, list):
            parts, calls = [], []
            for part in content:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "text":
                    parts.append({"type": "text", "text": part.get("text", "")})
                elif part.get("type") == "tool-call":
                    calls.append(
                        _tool_call(
                            part.get("toolCallId"), part.get("toolName"), part.get("input", part.get("args"))
                        )
                    )
                elif part.get("type") == "tool-result":
                    result = part.get("output", part.get("result"))
                    out.append(
                        {
                            "role": "tool",
                            "tool_call_id": str(part.get("toolCallId") or ""),
                            "content": result if isinstance(result, str) else json.dumps(result, default=str),
                        }
                    )
                else:
                    parts.append(part)
            if not parts and not calls:
                continue
            entry["content"] = _text_or_parts(parts) if parts else None
            if calls:
                entry["tool_calls"] = calls
        else:
            entry["content"] = content
        out.append(entry)
    return out


def _vercel_output(text: Any, calls: Any) -> list[dict]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if isinstance(calls, list) and calls:
        message["tool_calls"] = [
            _tool_call(c.get("toolCallId"), c.get("toolName"), c.get("input", c.get("args")))
            for c in calls
            if isinstance(c, dict)
        ]
    return [message]


def _errors(item: ObservationIn, attrs: _Attrs, span: dict, events: list[dict]) -> None:
    status = _get(span, "status")
    status = status if isinstance(status, dict) else {}
    messages: list[str] = []
    code = _get(status, "code")
    if code is not None and (isinstance(code, bool) or not isinstance(code, (int, str))):
        raise RejectedEvent("status.code must be a number or a status code name")
    is_error = code in _STATUS_ERROR
    if is_error and status.get("message"):
        messages.append(str(status["message"]))
    error_type = attrs.peek("error.type")  # kept in the metadata too: it names the exception class
    if error_type:
        is_error = True
        if not messages:
            messages.append(str(error_type))
    level = attrs.get("langfuse.observation.level")
    status_message = attrs.get("langfuse.observation.status_message")
    if isinstance(level, str) and level.upper() == "ERROR":
        is_error = True
        if status_message:
            messages.insert(0, str(status_message))
    for event in events:
        if event["name"] == "exception":
            is_error = True
            exc = event["attributes"]
            text = ": ".join(str(exc[k]) for k in ("exception.type", "exception.message") if exc.get(k))
            if text and text not in messages:
                messages.append(text)
    item.is_error = is_error
    item.error = "\n".join(messages)


def _model_parameters(attrs: _Attrs) -> Any:
    params: dict[str, Any] = {}
    for source in ("llm.invocation_parameters", "langfuse.observation.model.parameters"):
        value = _json_value(attrs.get(source))
        if isinstance(value, dict):
            params.update(value)
    for key in list(attrs.attrs):
        if key.startswith("gen_ai.request.") and key != "gen_ai.request.model":
            params[key.removeprefix("gen_ai.request.")] = attrs.get(key)
    for key in ("llm.request.max_tokens", "llm.request.temperature", "llm.request.top_p"):
        if key in attrs.attrs:  # OpenLLMetry's older spelling of gen_ai.request.*
            params.setdefault(key.removeprefix("llm.request."), attrs.get(key))
    params.pop("model", None)
    return params or None


def _tools(attrs: _Attrs) -> Any:
    definitions = _json_value(attrs.get("gen_ai.tool.definitions"))
    if definitions:
        return definitions
    oi_tools = attrs.indexed("llm.tools")
    if oi_tools:
        return [_json_value(fields.get("tool.json_schema")) or fields for fields in oi_tools.values()]
    functions = attrs.indexed("llm.request.functions")
    if functions:
        return [
            {"type": "function", "function": {k: _json_value(v) for k, v in fields.items()}}
            for fields in functions.values()
        ]
    return None
