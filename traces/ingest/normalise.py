"""The one normaliser every wire format feeds (SPEC §2).

Each format module (posthog.py, langfuse.py, otlp.py, ...) turns its input into `ObservationIn`
records; `store_observations` writes a batch of them with a bounded number of queries, whatever
the batch size, and recomputes the derived fields of every trace it touched.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from projects.models import Project
from traces.models import Observation, ObservationKind, Trace

MAX_ID_LENGTH = 255
MAX_JSON_DEPTH = 100
MAX_LATENCY = 10 * 366 * 24 * 3600.0
MIN_YEAR, MAX_YEAR = 1900, 3000
MAX_BIGINT = 2**63 - 1
MAX_COST = Decimal(10) ** 9
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATES = re.compile("[\ud800-\udfff]")
MAX_FIELD_BYTES = 1024 * 1024  # SPEC §8: a JSON field is stored whole up to 1 MB
PREVIEW_LENGTH = 300
TRUNCATED_MARKER = "$truncated"


class RejectedEvent(ValueError):
    """An input record that cannot be stored; the message says which field and why."""


@dataclass
class ObservationIn:
    trace_id: str
    span_id: str
    kind: str = ObservationKind.SPAN
    parent_id: str = ""
    type_label: str = ""
    name: str = ""
    source: str = ""
    event_uuid: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    latency: float | None = None
    model: str = ""
    provider: str = ""
    input: Any = None
    output: Any = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    reasoning_tokens: int | None = None
    input_cost: Decimal | None = None
    output_cost: Decimal | None = None
    total_cost: Decimal | None = None
    http_status: int | None = None
    is_error: bool = False
    error: str = ""
    stop_reason: str = ""
    model_parameters: Any = None
    tools: Any = None
    session_id: str = ""
    distinct_id: str = ""
    metadata: dict = field(default_factory=dict)

    def validate(self) -> None:
        """Check and clean every field so that the row can always be written (RejectedEvent if not).

        This is the one cleaning step for everything that reaches the database: ids are identity,
        so an id that is not storable text (control characters, lone surrogates) rejects the
        record; other text is cleaned (NUL and lone surrogates replaced by U+FFFD) and cut to its
        column; numbers are checked against their columns; times are made UTC (PostgreSQL refuses
        offsets beyond ±15:59); JSON content must be finite (NaN and Infinity are not JSON, and
        PostgreSQL refuses them) and bounded in depth. Idempotent.
        """
        for label, value, required, limit in (
            ("trace id", self.trace_id, True, MAX_ID_LENGTH),
            # Before the span id, which is often the uuid: the message names what was sent.
            ("uuid", self.event_uuid, False, 64),
            ("span id", self.span_id, True, MAX_ID_LENGTH),
            ("parent id", self.parent_id, False, MAX_ID_LENGTH),
        ):
            _check_id(label, value, required=required, limit=limit)
        if not self.trace_id.strip():
            raise RejectedEvent("trace id is missing")
        if self.kind not in ObservationKind.values:
            raise RejectedEvent(f"kind {self.kind!r} is not one of {', '.join(ObservationKind.values)}")
        for name, limit in _TEXT_FIELDS.items():
            setattr(self, name, as_str(getattr(self, name), max_length=limit, name=name))
        if self.latency is not None:
            self.latency = as_float(self.latency, "latency")
            if not (0 <= self.latency < MAX_LATENCY):
                raise RejectedEvent("latency must be a number of seconds between 0 and 10 years")
        if self.http_status is not None:
            self.http_status = as_int(self.http_status, "HTTP status")
            if not (0 <= self.http_status <= 999):
                raise RejectedEvent(f"HTTP status {self.http_status} is not between 0 and 999")
        for name in _COUNT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, as_count(value, name))
        for name in _COST_FIELDS:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, as_cost(value, name))
        for name in ("started_at", "ended_at"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, as_datetime(value, name))
        self.is_error = bool(self.is_error)
        for name in _JSON_FIELDS:
            setattr(self, name, clean_json(getattr(self, name), name))
        if not isinstance(self.metadata, dict):
            self.metadata = {"value": self.metadata} if self.metadata is not None else {}


# Text columns and their lengths (the ids are checked, not cleaned: see _check_id).
_TEXT_FIELDS = {
    "type_label": 50,
    "name": 255,
    "source": 20,
    "model": 255,
    "provider": 100,
    "error": MAX_FIELD_BYTES,
    "stop_reason": 100,
    "session_id": 255,
    "distinct_id": 255,
}
_COUNT_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "reasoning_tokens")
_COST_FIELDS = ("input_cost", "output_cost", "total_cost")
_JSON_FIELDS = ("input", "output", "model_parameters", "tools", "metadata")


def _check_id(label: str, value: Any, *, required: bool, limit: int) -> None:
    if not isinstance(value, str):
        raise RejectedEvent(f"{label} must be a string")
    if not value:
        if required:
            raise RejectedEvent(f"{label} is missing")
        return
    if len(value) > limit:
        raise RejectedEvent(f"{label} is longer than {limit} characters")
    if _CONTROL_CHARS.search(value):
        raise RejectedEvent(f"{label} contains control characters")
    if not _is_storable(value):
        # An id is identity: silently replacing a character would merge or split traces.
        raise RejectedEvent(f"{label} is not valid Unicode (it contains a lone surrogate)")


def _is_storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class JsonError(ValueError):
    """A text that is not a JSON document; the message says why."""


def loads_json(text: str | bytes) -> Any:
    """Decode a JSON document, with every way decoding can fail turned into JsonError.

    `json.loads` raises JSONDecodeError for bad syntax, but also a plain ValueError for an
    integer of more than 4300 digits, RecursionError for deep nesting and UnicodeDecodeError for
    bytes that are not UTF-8. NaN, Infinity, -Infinity and numbers too large for a float decode
    to non-finite floats, as Python does: they are valid in the document, and the record that
    contains one is rejected by `ObservationIn.validate()` (JSON content must be finite), so the
    other records of a batch are still stored.
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8-sig")
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError:
        raise JsonError("not UTF-8 text") from None
    except RecursionError:
        raise JsonError("JSON nested too deeply") from None
    except ValueError:  # the only other ValueError: Python's limit on integer digits
        raise JsonError("not valid JSON: a number has more than 4300 digits") from None


def _reject_non_finite(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:40]} is out of range")
    return number


def loads_strict_json(text: str) -> Any:
    """Decode JSON text found *inside* a value (an attribute, an exported field), strictly.

    ValueError (and RecursionError) when it is not strict JSON: no NaN or Infinity, no float
    overflow. The callers then keep the value as the text it was sent as: it was valid text.
    """
    return json.loads(text, parse_constant=_reject_non_finite, parse_float=_finite_float)


# --- coercion helpers shared by the format modules -------------------------------------------


def as_str(value: Any, *, max_length: int = 255, name: str = "a text field") -> str:
    """Text for a column: cleaned (see clean_text) and cut to `max_length`."""
    if value is None:
        return ""
    if not isinstance(value, str):
        if isinstance(value, float) and not math.isfinite(value):
            raise RejectedEvent(f"{name} must not be NaN or Infinity")
        if isinstance(value, (dict, list)):
            try:
                value = json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)
            except (ValueError, RecursionError):
                raise RejectedEvent(f"{name} is not valid JSON (NaN, Infinity or too deep)") from None
        else:
            value = str(value)
    return clean_text(value[:max_length])


def clean_text(value: str) -> str:
    """The string without NUL characters or lone surrogates (PostgreSQL stores neither)."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = _SURROGATES.sub("\ufffd", value)
    return value


def clean_json(value: Any, name: str = "value") -> Any:
    """`value` checked for nesting depth, with its strings cleaned when needed (RejectedEvent)."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RejectedEvent(f"{name} contains NaN or Infinity, which JSON does not allow")
        return value
    if isinstance(value, str):
        return clean_text(value)
    _check_depth(value, name)
    try:
        text = json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:
        raise RejectedEvent(f"{name} contains NaN or Infinity, which JSON does not allow") from None
    except (TypeError, RecursionError):
        raise RejectedEvent(f"{name} is not valid JSON") from None
    try:
        text.encode("utf-8")
        dirty = "\\u0000" in text
    except UnicodeEncodeError:
        dirty = True
    return _clean_tree(value) if dirty else value


def _check_depth(value: Any, name: str) -> None:
    # Iterative: a hostile document must not exhaust the Python stack here.
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise RejectedEvent(f"{name} is nested deeper than {MAX_JSON_DEPTH} levels")
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list, tuple)):
                stack.append((child, depth + 1))


def _clean_tree(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_tree(v) for v in value]
    return value


def content_hash(item: ObservationIn) -> str:
    """A fingerprint of everything a record says, to recognise an unchanged re-send."""
    text = json.dumps(item.__dict__, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def as_int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RejectedEvent(f"{name} must be a number, not a boolean")
    try:
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError
            return int(value)
        return int(str(value).strip())
    except (TypeError, ValueError):
        try:
            return int(float(str(value)))
        except (TypeError, ValueError, OverflowError):
            raise RejectedEvent(f"{name} must be a whole number, got {str(value)[:40]!r}") from None


def as_bigint(value: Any, name: str) -> int | None:
    number = as_int(value, name)
    if number is not None and not (-(2**63) < number < 2**63):
        raise RejectedEvent(f"{name} is out of range")
    return number


def as_float(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RejectedEvent(f"{name} must be a number, not a boolean")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise RejectedEvent(f"{name} must be a number, got {str(value)[:40]!r}") from None
    if not math.isfinite(number):
        raise RejectedEvent(f"{name} must be a finite number")
    return number


def as_decimal(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RejectedEvent(f"{name} must be a number, not a boolean")
    if isinstance(value, float) and not math.isfinite(value):
        raise RejectedEvent(f"{name} must be a finite number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise RejectedEvent(f"{name} must be a number, got {str(value)[:40]!r}") from None
    # Below 1e9: SQLite keeps decimals as floats, and 1e10 would read back as 11 integer digits.
    # Compared before any arithmetic: abs() or quantize() of 1e999999999 raise decimal.Overflow.
    if not number.is_finite() or number.copy_abs() >= MAX_COST:
        raise RejectedEvent(f"{name} is out of range (at most {MAX_COST - 1})")
    try:
        return number.quantize(Decimal("1e-10"))
    except ArithmeticError:  # more digits than the context holds (1e-999999)
        raise RejectedEvent(f"{name} is out of range") from None


def as_count(value: Any, name: str) -> int | None:
    """A token count: a whole number from 0 to the largest bigint."""
    number = as_bigint(value, name)
    if number is not None and number < 0:
        raise RejectedEvent(f"{name} must not be negative")
    return number


def as_cost(value: Any, name: str) -> Decimal | None:
    """A cost in USD: a decimal from 0 up to (not including) 1e9."""
    number = as_decimal(value, name)
    if number is not None and number < 0:
        raise RejectedEvent(f"{name} must not be negative")
    return number


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def as_datetime(value: Any, name: str) -> datetime | None:
    """ISO 8601 strings, or epoch seconds/milliseconds/nanoseconds as numbers."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        if number > 1e17:  # nanoseconds
            number /= 1e9
        elif number > 1e14:  # microseconds
            number /= 1e6
        elif number > 1e11:  # milliseconds
            number /= 1e3
        try:
            parsed = datetime.fromtimestamp(number, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise RejectedEvent(f"{name} is not a valid time") from None
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise RejectedEvent(f"{name} must be an ISO 8601 time, got {value[:40]!r}") from None
    else:
        raise RejectedEvent(f"{name} must be a time string")
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    # Bounded so that adding a latency can never overflow, and every database can store it.
    if not (MIN_YEAR <= parsed.year < MAX_YEAR):
        raise RejectedEvent(f"{name} is out of range (years {MIN_YEAR}–{MAX_YEAR - 1})")
    # Stored in UTC: PostgreSQL refuses offsets beyond ±15:59, which Python parses (+16:00).
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise RejectedEvent(f"{name} is out of range") from None


def clip_json(value: Any) -> Any:
    """Keep a JSON value whole up to 1 MB; beyond, keep the first 1 MB of its text with a marker."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str) and len(value) < MAX_FIELD_BYTES // 4:
        return value
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = str(value)
    size = len(text.encode())
    if size <= MAX_FIELD_BYTES:
        return value if not isinstance(value, str) else text
    head = text.encode()[:MAX_FIELD_BYTES].decode(errors="ignore")
    return {TRUNCATED_MARKER: True, "original_bytes": size, "text": head}


def text_preview(value: Any, *, last: bool = False) -> str:
    """A short plain-text excerpt of a message list or value, for list columns."""
    texts: list[str] = []
    _collect_text(value, texts, depth=0)
    texts = [t.strip() for t in texts if t and t.strip()]
    if not texts:
        return ""
    text = texts[-1] if last else texts[0]
    text = " ".join(text.split())
    return text[: PREVIEW_LENGTH - 1] + "…" if len(text) > PREVIEW_LENGTH else text


_TEXT_KEYS = (
    "content",
    "text",
    "parts",
    "message",
    "messages",
    "choices",
    "output",
    "input",
    "value",
    "query",
    "question",
    "prompt",
)


def _collect_text(value: Any, out: list[str], depth: int) -> None:
    if depth > 8 or len(out) > 50:
        return
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            _collect_text(item, out, depth + 1)
    elif isinstance(value, dict):
        if value.get(TRUNCATED_MARKER):
            out.append(str(value.get("text", ""))[:1000])
            return
        if value.get("role") == "system":
            return
        for key in _TEXT_KEYS:
            # "text" may be a settings object (OpenAI Responses: {"format": ...}), not text.
            if key in value and not (key == "text" and isinstance(value[key], dict)):
                _collect_text(value[key], out, depth + 1)
                return
        # Unknown object: its JSON, so that state dicts still preview as something readable.
        out.append(json.dumps(value, ensure_ascii=False, default=str)[:PREVIEW_LENGTH])


def preview_input(value: Any) -> str:
    """The last user message if the input is a conversation, else the first text in it."""
    if isinstance(value, list):
        users = [m for m in value if isinstance(m, dict) and m.get("role") in {"user", "human"}]
        if users:
            return text_preview(users[-1])
    return text_preview(value)


# --- storing -----------------------------------------------------------------------------------


@dataclass
class StoreResult:
    """What a store did. Trace counts are of distinct trace ids, also when results are added up."""

    created_ids: set[str] = field(default_factory=set)
    updated_ids: set[str] = field(default_factory=set)
    seen_ids: set[str] = field(default_factory=set)
    observations_created: int = 0
    observations_updated: int = 0
    observations_unchanged: int = 0
    # Records the last-line check in store_observations refused: (record, reason). Empty when
    # the caller validated first, as it should, to report rejections with their index.
    rejected: list[tuple[ObservationIn, str]] = field(default_factory=list)

    @property
    def traces_created(self) -> int:
        return len(self.created_ids)

    @property
    def traces_updated(self) -> int:
        return len(self.updated_ids - self.created_ids)

    @property
    def traces_unchanged(self) -> int:
        return len(self.seen_ids - self.created_ids - self.updated_ids)

    @property
    def trace_ids(self) -> list[str]:
        return sorted(self.seen_ids)

    @property
    def observations_written(self) -> int:
        return self.observations_created + self.observations_updated

    def add(self, other: StoreResult) -> None:
        self.created_ids |= other.created_ids
        self.updated_ids |= other.updated_ids
        self.seen_ids |= other.seen_ids
        self.observations_created += other.observations_created
        self.observations_updated += other.observations_updated
        self.observations_unchanged += other.observations_unchanged
        self.rejected += other.rejected


_OBSERVATION_FIELDS = [
    f.name
    for f in Observation._meta.concrete_fields
    if f.name not in {"id", "trace", "span_id", "input_preview", "output_preview"}
]
# SQLite allows 32,766 parameters per statement; id lookups are chunked well below that.
_LOOKUP_CHUNK = 2000


def _row_values(trace: Trace, item: ObservationIn, now: datetime, fingerprint: str) -> dict[str, Any]:
    """The column values (by attribute name) of one observation row."""
    return dict(
        trace_id=trace.pk,
        span_id=item.span_id,
        parent_id=item.parent_id or "",
        kind=item.kind,
        type_label=as_str(item.type_label, max_length=50),
        name=as_str(item.name),
        source=as_str(item.source, max_length=20),
        event_uuid=as_str(item.event_uuid, max_length=64),
        started_at=item.started_at,
        ended_at=item.ended_at,
        latency=item.latency,
        model=as_str(item.model),
        provider=as_str(item.provider, max_length=100),
        input=clip_json(item.input),
        output=clip_json(item.output),
        input_preview=clean_text(preview_input(item.input)),
        output_preview=clean_text(text_preview(item.output, last=True)),
        input_tokens=item.input_tokens,
        output_tokens=item.output_tokens,
        cache_read_tokens=item.cache_read_tokens,
        reasoning_tokens=item.reasoning_tokens,
        input_cost=item.input_cost,
        output_cost=item.output_cost,
        total_cost=item.total_cost,
        http_status=item.http_status,
        is_error=bool(item.is_error),
        error=as_str(item.error, max_length=MAX_FIELD_BYTES),
        stop_reason=as_str(item.stop_reason, max_length=100),
        model_parameters=clip_json(item.model_parameters),
        tools=clip_json(item.tools),
        session_id=as_str(item.session_id),
        distinct_id=as_str(item.distinct_id),
        metadata=clip_json(item.metadata or {}),
        content_hash=fingerprint,
        received_at=now,
    )


def _upsert_observations(rows: list[dict[str, Any]]) -> None:
    """Insert `rows`, replacing the stored copy of a span (same trace and span id).

    On PostgreSQL the rows are streamed with COPY into a temporary table and upserted from it
    in one statement: Django's bulk_create spends most of a large batch preparing 35 values per
    row in Python (SPEC §8 allows 20 MB batches: ~200,000 events). Elsewhere, bulk_create.
    """
    if connection.vendor != "postgresql":
        Observation.objects.bulk_create(
            [Observation(**row) for row in rows],
            update_conflicts=True,
            unique_fields=["trace", "span_id"],
            update_fields=_OBSERVATION_FIELDS + ["input_preview", "output_preview"],
            batch_size=500,
        )
        return
    from psycopg.types.json import Jsonb

    fields = [f for f in Observation._meta.concrete_fields if f.name != "id"]
    columns = [connection.ops.quote_name(f.column) for f in fields]
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    attnames = [f.attname for f in fields]
    table = connection.ops.quote_name(Observation._meta.db_table)
    column_list = ", ".join(columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in ('"trace_id"', '"span_id"'))
    with connection.cursor() as cursor:
        # Dropped at the end of the transaction; dropped first in case an earlier batch of the
        # same (outer) transaction created it.
        cursor.execute("DROP TABLE IF EXISTS pg_temp.traces_observation_in")
        cursor.execute(
            f"CREATE TEMPORARY TABLE traces_observation_in ON COMMIT DROP AS "
            f"SELECT {column_list} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY traces_observation_in ({column_list}) FROM STDIN") as copy:
            for row in rows:
                # None is SQL NULL, as Django stores it for a nullable JSONField.
                copy.write_row(
                    [
                        Jsonb(row[name]) if name in json_fields and row[name] is not None else row[name]
                        for name in attnames
                    ]
                )
        cursor.execute(
            f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM traces_observation_in "
            f'ON CONFLICT ("trace_id", "span_id") DO UPDATE SET {updates}'
        )
        cursor.execute("DROP TABLE pg_temp.traces_observation_in")


def _chunks(values: list, size: int = _LOOKUP_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


@transaction.atomic
def store_observations(project: Project, items: list[ObservationIn]) -> StoreResult:
    """Upsert a batch of observations and refresh the derived fields of the traces they touch.

    Call `ObservationIn.validate()` on each item first to report rejections with their index;
    every item is validated here again as the last line of defence (validation is idempotent),
    and one that fails is left out and listed in `result.rejected`, so one bad record can never
    make the database refuse the whole batch.
    Queries: a constant handful for the whole batch (plus one per 500-2000 rows for the bulk
    writes and id look-ups), never one per event. A later copy of a span (same trace and span id)
    replaces the stored one; an identical copy is left alone and counted as unchanged.
    """
    result = StoreResult()
    valid = []
    for item in items:
        try:
            item.validate()
        except RejectedEvent as exc:
            result.rejected.append((item, str(exc)))
        else:
            valid.append(item)
    items = valid
    if not items:
        return result
    now = timezone.now()

    # Last copy wins within one batch too; the database refuses two upserts of one row at once.
    latest: dict[tuple[str, str], ObservationIn] = {}
    for item in items:
        latest[(item.trace_id, item.span_id)] = item
    trace_ids = sorted({trace_id for trace_id, _ in latest})

    existing: set[str] = set()
    for chunk in _chunks(trace_ids):
        existing.update(
            Trace.objects.filter(project=project, trace_id__in=chunk).values_list("trace_id", flat=True)
        )
    new_ids = [t for t in trace_ids if t not in existing]
    if new_ids:
        first_seen: dict[str, datetime] = {}
        for item in latest.values():
            if item.started_at and (
                item.trace_id not in first_seen or item.started_at < first_seen[item.trace_id]
            ):
                first_seen[item.trace_id] = item.started_at
        Trace.objects.bulk_create(
            [
                Trace(
                    project=project,
                    trace_id=t,
                    started_at=first_seen.get(t, now),
                    created_at=now,
                    updated_at=now,
                )
                for t in new_ids
            ],
            ignore_conflicts=True,  # a concurrent batch may create the same trace first
            batch_size=500,
        )
    # Lock the touched traces in a fixed order: two batches for one trace serialise here, so the
    # recomputed fields always see every observation (no lost update, no deadlock).
    traces: dict[str, Trace] = {}
    for chunk in _chunks(trace_ids):
        for t in (
            Trace.objects.select_for_update()
            .filter(project=project, trace_id__in=chunk)
            .order_by("pk")
            .select_related("project")
        ):
            traces[t.trace_id] = t
    by_pk = {t.pk: t for t in traces.values()}

    stored: dict[tuple[str, str], str] = {}
    existing_pks = [t.pk for t in traces.values() if t.trace_id in existing]
    for chunk in _chunks(existing_pks):
        for trace_pk, span_id, fingerprint in Observation.objects.filter(trace_id__in=chunk).values_list(
            "trace_id", "span_id", "content_hash"
        ):
            stored[(by_pk[trace_pk].trace_id, span_id)] = fingerprint

    rows = []
    changed_traces: set[str] = set()
    for key, item in latest.items():
        fingerprint = content_hash(item)
        previous = stored.get(key)
        if previous == fingerprint:
            result.observations_unchanged += 1
            continue
        if previous is None:
            result.observations_created += 1
        else:
            result.observations_updated += 1
        changed_traces.add(item.trace_id)
        rows.append(_row_values(traces[item.trace_id], item, now, fingerprint))
    if rows:
        _upsert_observations(rows)
    touched = [traces[t] for t in sorted(changed_traces)]
    refresh_traces(touched, now=now)
    result.created_ids = {t for t in new_ids if t in traces}
    result.updated_ids = changed_traces - result.created_ids
    result.seen_ids = set(traces)
    return result


_DERIVED_FIELDS = [
    "name",
    "started_at",
    "ended_at",
    "latency",
    "input_tokens",
    "output_tokens",
    "total_cost",
    "has_error",
    "models_used",
    "session_id",
    "distinct_id",
    "input_preview",
    "output_preview",
    "observation_count",
    "updated_at",
]


def refresh_traces(traces: list[Trace], *, now: datetime | None = None) -> None:
    """Recompute the derived fields of `traces` from all their observations (two queries a chunk)."""
    if not traces:
        return
    now = now or timezone.now()
    for chunk in _chunks(traces):
        _refresh_chunk(chunk, now)


def _refresh_chunk(traces: list[Trace], now: datetime) -> None:
    by_pk = {t.pk: t for t in traces}
    grouped: dict[int, list[Any]] = defaultdict(list)
    # Named rows, not model instances: building 60,000 instances cost more than the query.
    for obs in (
        Observation.objects.filter(trace_id__in=list(by_pk))
        .order_by("trace_id", "started_at", "id")
        .values_list(
            "trace_id",
            "span_id",
            "parent_id",
            "kind",
            "name",
            "started_at",
            "ended_at",
            "latency",
            "model",
            "input_tokens",
            "output_tokens",
            "total_cost",
            "input_cost",
            "output_cost",
            "is_error",
            "session_id",
            "distinct_id",
            "input_preview",
            "output_preview",
            named=True,
        )
    ):
        grouped[obs.trace_id].append(obs)
    for pk, trace in by_pk.items():
        derive_trace_fields(trace, grouped.get(pk, []))
        trace.updated_at = now
    # An upsert on (project, trace_id) rather than bulk_update(): one plain statement per 500
    # rows, where bulk_update builds a CASE per field and row and grows quadratically.
    Trace.objects.bulk_create(
        [
            Trace(
                project_id=t.project_id,
                trace_id=t.trace_id,
                created_at=t.created_at,
                **{name: getattr(t, name) for name in _DERIVED_FIELDS},
            )
            for t in by_pk.values()
        ],
        update_conflicts=True,
        unique_fields=["project", "trace_id"],
        update_fields=_DERIVED_FIELDS,
        batch_size=500,
    )


def derive_trace_fields(trace: Trace, observations: list[Any]) -> None:
    """Set the trace's list fields from its observations (ordered by start time).

    `observations` are Observation instances or rows with the same attribute names.
    """
    tree = [o for o in observations if o.kind != ObservationKind.EVENT]
    trace.observation_count = len(tree)
    span_ids = {o.span_id for o in tree}
    roots = [o for o in tree if not o.parent_id or o.parent_id not in span_ids or o.parent_id == o.span_id]
    generations = [o for o in tree if o.kind == ObservationKind.GENERATION]
    # A root that is the trace itself (PostHog's $ai_trace, span id == trace id) names the trace.
    named_root = next((o for o in roots if o.span_id == trace.trace_id and o.name), None) or next(
        (o for o in roots if o.name and o.kind == ObservationKind.SPAN), None
    )
    if named_root is not None:
        trace.name = named_root.name[:255]
    elif generations:
        trace.name = (generations[0].name or generations[0].model or "")[:255]
    elif tree:
        trace.name = (tree[0].name or "")[:255]

    # Times come from the tree: feedback may arrive hours later and must not stretch the latency.
    timed = tree or observations
    starts = [o.started_at for o in timed if o.started_at]
    ends = [o.ended_at for o in timed if o.ended_at]
    if starts:
        trace.started_at = min(starts)
    ends += [o.started_at + timedelta(seconds=o.latency) for o in tree if o.started_at and o.latency]
    trace.ended_at = max(ends) if ends else None
    trace.latency = (trace.ended_at - trace.started_at).total_seconds() if trace.ended_at else None
    if trace.latency is None:
        latencies = [o.latency for o in roots if o.latency is not None]
        trace.latency = max(latencies) if latencies else None

    # Totals count leaves of cost/tokens: generations and embeddings carry them; a span that
    # reports its own totals is counted only when none of its descendants do (no double count).
    counted = [o for o in tree if o.kind in (ObservationKind.GENERATION, ObservationKind.EMBEDDING)]
    if not counted:
        counted = tree
    # Clamped to what the columns hold: absurd inputs must not make a trace unstorable.
    trace.input_tokens = min(sum(o.input_tokens or 0 for o in counted), MAX_BIGINT)
    trace.output_tokens = min(sum(o.output_tokens or 0 for o in counted), MAX_BIGINT)
    trace.total_cost = min(sum((observation_cost(o) or Decimal(0) for o in counted), Decimal(0)), MAX_COST)
    trace.has_error = any(o.is_error for o in tree)
    models_seen = sorted({o.model for o in tree if o.model})
    trace.models_used = ("|" + "|".join(models_seen) + "|") if models_seen else ""
    trace.session_id = next((o.session_id for o in observations if o.session_id), "")
    trace.distinct_id = next((o.distinct_id for o in observations if o.distinct_id), "")
    with_input = [o for o in generations if o.input_preview] or [o for o in tree if o.input_preview]
    with_output = [o for o in generations if o.output_preview] or [o for o in tree if o.output_preview]
    root_io = named_root if named_root is not None else None
    trace.input_preview = (root_io.input_preview if root_io and root_io.input_preview else "") or (
        with_input[0].input_preview if with_input else ""
    )
    trace.output_preview = (root_io.output_preview if root_io and root_io.output_preview else "") or (
        with_output[-1].output_preview if with_output else ""
    )


def observation_cost(o: Any) -> Decimal | None:
    if o.total_cost is not None:
        return o.total_cost
    if o.input_cost is not None or o.output_cost is not None:
        return (o.input_cost or Decimal(0)) + (o.output_cost or Decimal(0))
    return None
