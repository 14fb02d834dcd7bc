"""tracereview.params.parse_int: the one reader of ids and numbers from requests (finding 5)."""

from __future__ import annotations

import pytest
from django.core.exceptions import BadRequest
from django.http import QueryDict

from tracereview.params import BIGINT_MAX, INT_MAX, int_param, parse_int


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", 0), ("7", 7), ("0042", 42), (str(BIGINT_MAX), BIGINT_MAX), (12, 12)],
)
def test_ascii_digits_in_range_are_numbers(raw, expected):
    assert parse_int(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", None, "²", "٣", "１", "৩", " 1", "1 ", "+1", "-1", "1_0", "1.0", "1e3", "0x1", "abc",
     str(BIGINT_MAX + 1), "9" * 30, True, 1.0, -1, ["1"]],
)  # fmt: skip
def test_anything_else_is_none(raw):
    assert parse_int(raw) is None


def test_bounds_are_inclusive():
    assert parse_int(str(INT_MAX), max_value=INT_MAX) == INT_MAX
    assert parse_int(str(INT_MAX + 1), max_value=INT_MAX) is None
    assert parse_int("0", min_value=1) is None


def test_int_param_reads_a_querydict_and_raises_400_only_when_required():
    data = QueryDict("a=5&b=%C2%B2")
    assert int_param(data, "a") == 5
    assert int_param(data, "b") is None and int_param(data, "missing") is None
    with pytest.raises(BadRequest, match="whole number"):
        int_param(data, "b", required=True)
