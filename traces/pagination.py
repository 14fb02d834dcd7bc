"""Keyset pagination for the traces list: pages follow the index on (project, -started_at, -id),
so page 1,000 costs what page 1 costs, and no page needs a COUNT over all rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet

PAGE_SIZE = 50
COUNT_CAP = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class KeysetPage:
    rows: list
    next_cursor: str | None
    prev_cursor: str | None


def encode_cursor(row) -> str:
    micros = (row.started_at - EPOCH) // timedelta(microseconds=1)  # exact, unlike a float timestamp
    return f"{micros}_{row.pk}"


def decode_cursor(value: str | None) -> tuple[datetime, int] | None:
    """(started_at, pk) from a cursor; None for anything malformed (then page 1 is shown)."""
    if not value:
        return None
    try:
        micros, pk = value.split("_", 1)
        return EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, OverflowError, OSError):
        return None


def keyset_page(qs: QuerySet, *, after: str | None = None, before: str | None = None, size: int = PAGE_SIZE):
    """One page of `qs` newest first. `after`: rows older than the cursor; `before`: newer."""
    older, newer = decode_cursor(after), decode_cursor(before)
    if newer is not None:
        moment, pk = newer
        # The redundant `started_at >= moment` lets the database start its index scan at the cursor.
        rows = list(
            qs.filter(Q(started_at__gte=moment) & (Q(started_at__gt=moment) | Q(pk__gt=pk))).order_by(
                "started_at", "id"
            )[: size + 1]
        )
        if not rows:  # nothing newer (rows were deleted): show the first page
            return keyset_page(qs, size=size)
        has_prev = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_next = True
    else:
        if older is not None:
            moment, pk = older
            qs = qs.filter(Q(started_at__lte=moment) & (Q(started_at__lt=moment) | Q(pk__lt=pk)))
        rows = list(qs.order_by("-started_at", "-id")[: size + 1])
        has_next = len(rows) > size
        rows = rows[:size]
        has_prev = older is not None
    return KeysetPage(
        rows=rows,
        next_cursor=encode_cursor(rows[-1]) if rows and has_next else None,
        prev_cursor=encode_cursor(rows[0]) if rows and has_prev else None,
    )


def capped_count(qs: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows match, counting at most `cap` (one bounded query): (count, more_than_cap)."""
    count = qs.order_by()[: cap + 1].count()
    return min(count, cap), count > cap
