"""File import (SPEC §2.1 item 3): detect the format of each document and store it.

A file holds one JSON document or JSON Lines (one document a line). Each document may be:
- PostHog events: a list of events, a batch body (`{"batch": [...]}`), `{"results": [...]}`
  or one event;
- PostHog trace objects (`{"id", "events": [...]}`), one or a list (also under `results`);
- Langfuse trace exports (`{"trace", "observations"}` or a trace with embedded `observations`),
  one or a list (also under Langfuse's API envelope `{"data": [...]}`);
- OTLP JSON (`{"resourceSpans": [...]}`), read by `traces.ingest.otlp.parse_otlp_json` when that
  module is installed.

Records are stored in chunks through the one normaliser, so a file of any size costs a bounded
number of queries per chunk; a bad record is reported with its file, line/index and reason and
never stops the others.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DataError, IntegrityError

from projects.models import Project
from traces.ingest import langfuse, posthog
from traces.ingest.normalise import JsonError, ObservationIn, StoreResult, loads_json, store_observations

logger = logging.getLogger(__name__)

CHUNK = 1000


@dataclass
class Rejection:
    file: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.where}: {self.reason}"


@dataclass
class ImportReport:
    stored: StoreResult = field(default_factory=StoreResult)
    ignored: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    files: int = 0


Progress = Callable[[int, int], None]


def import_files(project: Project, paths: list[Path], *, progress: Progress | None = None) -> ImportReport:
    report = ImportReport()
    for path in paths:
        import_file(project, path, report, progress=progress)
    return report


def import_file(
    project: Project, path: Path, report: ImportReport, *, progress: Progress | None = None
) -> None:
    report.files += 1
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        report.rejected.append(Rejection(name, "file", f"cannot be read: {exc}"))
        return
    items: list[ObservationIn] = []
    places: dict[int, str] = {}  # id(item) -> where it came from, for the last-line rejections
    for where, doc in _documents(text, name, report):
        try:
            for item_where, item_or_reason in _records(doc):
                if isinstance(item_or_reason, ObservationIn):
                    items.append(item_or_reason)
                    places[id(item_or_reason)] = where
                elif item_or_reason is None:
                    report.ignored += 1
                else:
                    report.rejected.append(Rejection(name, _join(where, item_where), item_or_reason))
        except RecursionError:
            report.rejected.append(Rejection(name, where or "file", "nested too deeply"))
        except (TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            # A shape no format module foresaw: this document is refused, the file is not.
            logger.warning("a document of %s could not be read: %r", name, exc)
            report.rejected.append(Rejection(name, where or "file", "could not be read"))
    del text
    # Stored grouped by trace: each trace is then refreshed once, not once per chunk it appears in.
    items.sort(key=lambda item: item.trace_id)
    done = 0
    for chunk in _trace_chunks(items):
        try:
            stored = store_observations(project, chunk)
        except (DataError, IntegrityError) as exc:
            # Validation should make this unreachable; if the database still refuses a chunk,
            # nothing of it was written (one transaction): report it and go on with the rest.
            logger.exception("importing a chunk of %s failed", name)
            where = ", ".join(sorted({places.get(id(i)) or "file" for i in chunk})[:5])
            report.rejected.append(Rejection(name, where, f"{len(chunk)} records not stored: {exc}"))
        else:
            report.stored.add(stored)
            for item, reason in stored.rejected:
                report.rejected.append(Rejection(name, places.get(id(item)) or "file", reason))
        done += len(chunk)
        if progress:
            progress(done, len(items))


def _trace_chunks(items: list[ObservationIn]) -> Iterator[list[ObservationIn]]:
    """Chunks of about CHUNK items (sorted by trace) that split a trace only when it is bigger."""
    chunk: list[ObservationIn] = []
    for item in items:
        if len(chunk) >= CHUNK and item.trace_id != chunk[-1].trace_id:
            yield chunk
            chunk = []
        chunk.append(item)
        if len(chunk) >= 4 * CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _join(where: str, item_where: str) -> str:
    return f"{where} {item_where}".strip() if item_where else where


def _documents(text: str, name: str, report: ImportReport) -> Iterator[tuple[str, Any]]:
    """(location, document) for a JSON file or for each line of a JSON Lines file."""
    try:
        yield "", loads_json(text)
        return
    except JsonError as whole_error:
        lines = text.splitlines()
        if len([line for line in lines if line.strip()]) < 2:
            report.rejected.append(Rejection(name, "file", str(whole_error)))
            return
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            doc = loads_json(line)
        except JsonError as exc:
            report.rejected.append(Rejection(name, f"line {number}", str(exc)))
        else:
            yield f"line {number}", doc


Record = tuple[str, ObservationIn | str | None]  # (location, item | rejection reason | None = ignored)


def _records(doc: Any) -> Iterator[Record]:
    """Detect the format of one document and parse it."""
    if isinstance(doc, list):
        yield from _list(doc)
        return
    if not isinstance(doc, dict):
        yield "", f"unrecognised document: a JSON {type(doc).__name__}, expected an object or a list"
        return
    if "resourceSpans" in doc:
        yield from _otlp(doc)
    elif isinstance(doc.get("batch"), list):
        yield from _events(doc["batch"], prefix="batch")
    elif isinstance(doc.get("results"), list):
        yield from _list(doc["results"], prefix="results")
    elif isinstance(doc.get("data"), list) and "meta" in doc:
        yield from _list(doc["data"], prefix="data")
    elif isinstance(doc.get("events"), list) and "id" in doc:
        yield from _posthog_trace(doc)
    elif langfuse.is_langfuse_export(doc):
        yield from _langfuse(doc)
    elif "event" in doc:
        yield from _events([doc], prefix=None)
    else:
        keys = ", ".join(sorted(str(k) for k in doc)[:8])
        yield "", f"unrecognised document (keys: {keys}): not PostHog, Langfuse or OTLP JSON"


def _list(items: list, prefix: str = "") -> Iterator[Record]:
    first = next((x for x in items if isinstance(x, dict)), None)
    if first is None:
        if items:
            yield prefix, "unrecognised list: its items are not objects"
        return
    if "event" in first:
        yield from _events(items, prefix=prefix or None)
        return
    for index, item in enumerate(items):
        where = f"{prefix}[{index}]"
        for inner_where, record in _records(item):
            yield _join(where, inner_where), record


def _events(events: list, prefix: str | None) -> Iterator[Record]:
    parsed = posthog.parse_events(events)
    for index, reason in parsed.rejected:
        yield (f"{prefix}[{index}]" if prefix else f"[{index}]" if len(events) > 1 else ""), reason
    for item in parsed.items:
        yield "", item
    for _ in range(parsed.ignored):
        yield "", None


def _posthog_trace(doc: dict) -> Iterator[Record]:
    parsed = posthog.parse_trace_object(doc)
    for index, reason in parsed.rejected:
        yield ("trace" if index < 0 else f"events[{index}]"), reason
    for item in parsed.items:
        yield "", item
    for _ in range(parsed.ignored):
        yield "", None


def _langfuse(doc: dict) -> Iterator[Record]:
    items, rejected = langfuse.parse_export(doc)
    yield from rejected
    for item in items:
        yield "", item


def _otlp(doc: dict) -> Iterator[Record]:
    try:
        otlp = importlib.import_module("traces.ingest.otlp")
        parse = otlp.parse_otlp_json
    except (ImportError, AttributeError):
        yield "", "OTLP JSON import not available"
        return
    try:
        items, rejected = parse(doc)
    except Exception as exc:  # another format module: report, never abort the whole import
        yield "", f"OTLP JSON could not be read: {exc}"
        return
    for rejection in rejected:
        yield _otlp_rejection(rejection)
    for item in items:
        yield "", item


def _otlp_rejection(rejection: Any) -> tuple[str, str]:
    if isinstance(rejection, (tuple, list)) and len(rejection) == 2:
        return str(rejection[0]), str(rejection[1])
    if isinstance(rejection, dict):
        where = rejection.get("index", rejection.get("where", ""))
        return (f"span {where}" if where != "" else ""), str(rejection.get("reason", rejection))
    return "", str(rejection)
