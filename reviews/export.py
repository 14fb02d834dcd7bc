"""Export of the saved reviews list as CSV or JSONL (SPEC §4.1): one row per review, one column
(CSV) or `scores` field (JSONL) per scorer, named by the scorer.

Streamed: reviews are read with `.iterator(chunk_size=...)`, whose prefetch of the scores runs
once per chunk, so memory stays constant and the query count grows with size / CHUNK_SIZE only.

Values: categorical as option keys (stable across versions; joined with "|" in CSV), numeric as
the exact decimal, boolean as true/false. JSONL also carries the label shown in the app.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db.models.functions import Lower
from django.http import Http404, StreamingHttpResponse
from django.utils import timezone

from projects.models import Project
from reviews.models import Review, ReviewQuerySet, ReviewScore
from scorers.configs import Kind, format_decimal
from scorers.models import Scorer

CHUNK_SIZE = 500
BASE_COLUMNS = [
    "trace_id",
    "trace_name",
    "reviewer",
    "created_by",
    "created_at",
    "updated_at",
    "reasoning",
]
# Spreadsheet programs run cells starting with these as formulas; trace content is untrusted.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def stream(project: Project, reviews: ReviewQuerySet, fmt: str) -> StreamingHttpResponse:
    if fmt not in {"csv", "jsonl"}:
        raise Http404("Export as csv or jsonl.")
    columns = scorer_columns(project)
    rows = reviews.iterator(chunk_size=CHUNK_SIZE)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        response = StreamingHttpResponse(csv_lines(rows, columns), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(jsonl_lines(rows, columns), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-reviews-{stamp}.{fmt}"'
    return response


def scorer_columns(project: Project) -> dict[int, str]:
    """Scorer id -> column name: the scorer's name, made unique (an archived scorer may share the
    name of an active one)."""
    columns: dict[int, str] = {}
    taken = {c.lower() for c in BASE_COLUMNS}
    for pk, name in (
        Scorer.objects.for_project(project).order_by(Lower("name"), "id").values_list("pk", "name")
    ):
        column = name if name.lower() not in taken else f"{name} (#{pk})"
        taken.add(column.lower())
        columns[pk] = column
    return columns


class _Echo:
    """csv.writer target that hands each formatted line back instead of buffering it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(reviews: Iterable[Review], columns: dict[int, str]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # BOM: spreadsheet programs then read the file as UTF-8
    # Headers hold scorer names, typed by people: guarded like every cell.
    yield writer.writerow([_safe(column) for column in [*BASE_COLUMNS, *columns.values()]])
    for review in reviews:
        scores = {score.scorer_id: score for score in review.scores.all()}
        base = [_safe(value) for value in _base_fields(review).values()]
        values = [_csv_value(scores.get(pk)) for pk in columns]
        yield writer.writerow([*base, *values])


def jsonl_lines(reviews: Iterable[Review], columns: dict[int, str]) -> Iterator[str]:
    for review in reviews:
        record: dict[str, Any] = _base_fields(review)
        record["scores"] = {
            columns.get(score.scorer_id, score.scorer.name): {
                "value": _json_value(score),
                "label": score.display,
                "kind": score.kind,
                "scorer_version": score.version_number,
            }
            for score in review.scores.all()
        }
        yield json.dumps(record, ensure_ascii=False) + "\n"


def _base_fields(review: Review) -> dict[str, Any]:
    return {
        "trace_id": review.trace.trace_id,
        "trace_name": review.trace.name,
        "reviewer": review.reviewed_by.get_username(),
        "created_by": review.created_by.get_username(),
        "created_at": review.created_at.isoformat(),
        "updated_at": review.updated_at.isoformat(),
        "reasoning": review.reasoning,
    }


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_value(score: ReviewScore | None) -> str:
    if score is None:
        return ""
    value = _json_value(score)
    if score.kind == Kind.CATEGORICAL:
        return "|".join(value)
    if score.kind == Kind.BOOLEAN:
        return "true" if value else "false"
    return value


def _json_value(score: ReviewScore) -> Any:
    value = score.value
    if isinstance(value, Decimal):
        # A string: JSON numbers are read as floats, which would lose exactness.
        return format_decimal(value)
    return value
