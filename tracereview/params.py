"""The one reader of integer parameters (ids, positions, revision numbers) from GET/POST.

`str.isdigit()` is true for "²" and `int()` accepts "٣", " 3", "+3" and "3_0": neither is what a
URL or a form of this app ever carries. Every view and tag that reads a number from a request goes
through `parse_int`, which accepts ASCII digits only and values the database can store, so junk
becomes None (or a 400 with `int_param(..., required=True)`) instead of a 500 or a wrong row.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import BadRequest
from django.http import QueryDict

# BigAutoField ids and bigint columns; an IntegerField passes max_value=INT_MAX.
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_int(raw: Any, *, min_value: int = 0, max_value: int = BIGINT_MAX) -> int | None:
    """`raw` as an int when it is ASCII digits (or already an int) within [min_value, max_value];
    None for anything else: missing, blank, signs, spaces, other scripts' digits, too big."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _DIGITS.fullmatch(raw):
        value = int(raw)
    else:
        return None
    return value if min_value <= value <= max_value else None


def int_param(
    data: QueryDict,
    name: str,
    *,
    required: bool = False,
    min_value: int = 0,
    max_value: int = BIGINT_MAX,
) -> int | None:
    """`data[name]` through `parse_int`. Missing or blank gives None (BadRequest when `required`);
    present but not a number in range always gives None, or BadRequest when `required`."""
    raw = data.get(name, "")
    value = parse_int(raw, min_value=min_value, max_value=max_value)
    if value is None and required:
        raise BadRequest(f"“{name}” must be a whole number (digits 0-9) between {min_value} and {max_value}.")
    return value
