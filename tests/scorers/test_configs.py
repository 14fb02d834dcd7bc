"""configs.py: every config rule with its message, and value validation (with hypothesis)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given
from hypothesis import strategies as st

from scorers.configs import (
    KEY_MAX_LENGTH,
    KEY_RE,
    MAX_OPTIONS,
    format_decimal,
    key_from_label,
    parse_decimal,
    validate_config,
    validate_value,
)


def config_errors(kind, config) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        validate_config(kind, config)
    return info.value.message_dict


# --- config: common -----------------------------------------------------------------------------


def test_unknown_kind_is_refused():
    assert config_errors("rating", {}) == {
        "kind": ["Unknown kind “rating”: choose categorical, numeric or boolean."]
    }


def test_config_must_be_an_object():
    assert config_errors("numeric", ["min", 1]) == {"config": ["The config must be an object."]}


def test_unknown_settings_are_named():
    assert config_errors("numeric", {"min": "1", "colour": "red"}) == {
        "config": ["Unknown setting for a numeric scorer: colour."]
    }


# --- config: categorical ----------------------------------------------------------------------------


def test_categorical_needs_an_option():
    assert config_errors("categorical", {"options": []}) == {"options": ["Add at least one option."]}
    assert config_errors("categorical", {}) == {"options": ["Add at least one option."]}


def test_options_must_be_a_list():
    assert config_errors("categorical", {"options": "good,bad"}) == {"options": ["Options must be a list."]}


def test_too_many_options():
    options = [{"label": f"O{i}"} for i in range(MAX_OPTIONS + 1)]
    assert config_errors("categorical", {"options": options}) == {
        "options": [f"At most {MAX_OPTIONS} options."]
    }


def test_option_needs_a_label():
    errors = config_errors("categorical", {"options": [{"label": "Good"}, {"label": "  "}]})
    assert errors == {"options.1.label": ["Option 2 needs a label."]}


def test_option_label_length():
    errors = config_errors("categorical", {"options": [{"label": "x" * 257}]})
    assert errors == {"options.0.label": ["Option 1: a label has at most 256 characters."]}
    assert (
        validate_config("categorical", {"options": [{"label": "x" * 256}]})["options"][0]["label"]
        == "x" * 256
    )


def test_option_labels_are_unique_case_insensitively():
    errors = config_errors("categorical", {"options": [{"label": "Good"}, {"label": "good"}]})
    assert errors == {"options.1.label": ["Option 2: two options are labelled “good”."]}


def test_option_must_be_an_object_or_label():
    assert config_errors("categorical", {"options": [42]}) == {"options.0": ["Option 1 must have a label."]}
    assert validate_config("categorical", {"options": ["Good"]})["options"] == [
        {"key": "good", "label": "Good"}
    ]


@pytest.mark.parametrize("key", ["Good", "good answer", "good__answer", "_good", "good-", "bön", "a.b"])
def test_option_key_format(key):
    errors = config_errors("categorical", {"options": [{"key": key, "label": "Good"}]})
    assert errors == {
        "options.0.key": ["Option 1: a key is lowercase letters and digits joined by “_” or “-”."]
    }


def test_option_key_length():
    errors = config_errors("categorical", {"options": [{"key": "a" * 129, "label": "Good"}]})
    assert errors == {"options.0.key": ["Option 1: a key has at most 128 characters."]}


def test_option_keys_are_unique():
    options = [{"key": "good", "label": "Good"}, {"key": "good", "label": "Fine"}]
    assert config_errors("categorical", {"options": options}) == {
        "options.1.key": ["Option 2: the key “good” is used twice."]
    }


def test_keys_are_generated_from_labels_and_given_keys_are_kept():
    config = validate_config(
        "categorical",
        {"options": [{"label": "Très bien!"}, {"key": "tres_bien", "label": "Renamed"}, {"label": "?!"}]},
    )
    # The given key wins; the generated one steps aside, and a label without letters gets "option".
    assert config["options"] == [
        {"key": "tres_bien_2", "label": "Très bien!"},
        {"key": "tres_bien", "label": "Renamed"},
        {"key": "option", "label": "?!"},
    ]


def test_generated_key_is_truncated_and_unique():
    key = key_from_label("word " * 100, taken={("word_" * 100)[:KEY_MAX_LENGTH].strip("_")})
    assert len(key) <= KEY_MAX_LENGTH and key.endswith("_2") and KEY_RE.match(key)


@given(st.text(max_size=300), st.sets(st.text(alphabet="ab_", min_size=1, max_size=3), max_size=5))
def test_generated_keys_are_always_valid_and_unused(label, taken):
    key = key_from_label(label, taken)
    assert KEY_RE.match(key) and len(key) <= KEY_MAX_LENGTH and key not in taken


def test_selection_values():
    assert config_errors("categorical", {"options": ["A"], "selection": "some"}) == {
        "selection": ["Selection must be “single” or “multiple”."]
    }
    assert validate_config("categorical", {"options": ["A"]})["selection"] == "single"


def test_min_max_selections_only_with_multiple():
    errors = config_errors("categorical", {"options": ["A", "B"], "max_selections": 2})
    assert errors == {"max_selections": ["Maximum selections only applies to multiple choice."]}


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({"min_selections": "one"}, "min_selections", "Minimum selections must be a whole number."),
        ({"min_selections": 1.5}, "min_selections", "Minimum selections must be a whole number."),
        ({"min_selections": True}, "min_selections", "Minimum selections must be a whole number."),
        ({"min_selections": 0}, "min_selections", "Minimum selections must be at least 1."),
        (
            {"max_selections": 4},
            "max_selections",
            "Maximum selections must be at most the number of options (3).",
        ),
        (
            {"min_selections": 3, "max_selections": 2},
            "max_selections",
            "Maximum selections must be at least the minimum selections.",
        ),
    ],
)
def test_selection_bounds(settings, field, message):
    config = {"options": ["A", "B", "C"], "selection": "multiple", **settings}
    assert config_errors("categorical", config) == {field: [message]}


def test_multiple_config_is_normalised():
    config = validate_config(
        "categorical",
        {"options": ["A", "B", "C"], "selection": "multiple", "min_selections": "1", "max_selections": 2},
    )
    assert config == {
        "options": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}, {"key": "c", "label": "C"}],
        "selection": "multiple",
        "min_selections": 1,
        "max_selections": 2,
    }


# --- config: numeric ---------------------------------------------------------------------------------


def test_numeric_config_is_optional_and_normalised_to_strings():
    assert validate_config("numeric", {}) == {}
    assert validate_config("numeric", {"min": 0.5, "max": "10.00", "step": Decimal("0.250")}) == {
        "min": "0.5",
        "max": "10",
        "step": "0.25",
    }


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({"min": "abc"}, "min", "Minimum: Enter a number."),
        ({"max": "NaN"}, "max", "Maximum: Enter a finite number."),
        ({"step": "0.0000001"}, "step", "Step: Use at most 6 decimal places."),
        ({"max": "1234567890123"}, "max", "Maximum: Use at most 12 digits."),
        ({"step": "0"}, "step", "Step must be greater than 0."),
        ({"step": "-1"}, "step", "Step must be greater than 0."),
        ({"min": "5", "max": "1"}, "max", "Maximum must be at least the minimum."),
    ],
)
def test_numeric_config_rules(settings, field, message):
    assert config_errors("numeric", settings) == {field: [message]}


def test_min_equal_to_max_is_allowed():
    assert validate_config("numeric", {"min": "3", "max": "3"}) == {"min": "3", "max": "3"}


# --- config: boolean ---------------------------------------------------------------------------------


def test_boolean_defaults_and_trimming():
    assert validate_config("boolean", {}) == {"true_label": "Yes", "false_label": "No"}
    assert validate_config("boolean", {"true_label": " Safe ", "false_label": "Unsafe"}) == {
        "true_label": "Safe",
        "false_label": "Unsafe",
    }


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({"true_label": "  "}, "true_label", "Label for true must not be blank."),
        ({"false_label": ""}, "false_label", "Label for false must not be blank."),
        ({"false_label": 3}, "false_label", "Label for false must not be blank."),
        ({"true_label": "x" * 257}, "true_label", "Label for true has at most 256 characters."),
        ({"true_label": "Same", "false_label": "same"}, "false_label", "The two labels must differ."),
    ],
)
def test_boolean_config_rules(settings, field, message):
    assert config_errors("boolean", settings) == {field: [message]}


# --- values: categorical ----------------------------------------------------------------------------

SINGLE = validate_config("categorical", {"options": ["Resolved", "Escalated", "Wrong"]})
MULTIPLE = validate_config(
    "categorical",
    {"options": ["A", "B", "C", "D"], "selection": "multiple", "min_selections": 2, "max_selections": 3},
)


def value_error(kind, config, raw, **kwargs) -> str:
    with pytest.raises(ValidationError) as info:
        validate_value(kind, config, raw, **kwargs)
    return info.value.messages[0]


def test_single_choice_values():
    assert validate_value("categorical", SINGLE, "escalated") == ["escalated"]
    assert validate_value("categorical", SINGLE, ["wrong"]) == ["wrong"]
    assert value_error("categorical", SINGLE, ["resolved", "wrong"]) == "Choose exactly one option."
    assert value_error("categorical", SINGLE, "") == "Choose exactly one option."
    assert value_error("categorical", SINGLE, "maybe") == "“maybe” is not one of the options."
    assert value_error("categorical", SINGLE, 3) == "Choose from the options."


def test_multiple_choice_messages_name_the_rule():
    assert value_error("categorical", MULTIPLE, ["a", "b", "c", "d"]) == "Choose at most 3 options."
    assert value_error("categorical", MULTIPLE, ["a"]) == "Choose at least 2 options."
    assert value_error("categorical", MULTIPLE, ["a", "a"]) == "Choose each option at most once."
    assert value_error("categorical", MULTIPLE, ["a", 1]) == "“1” is not one of the options."


def test_message_can_be_prefixed_with_the_scorer_name():
    assert (
        value_error("categorical", MULTIPLE, ["a"], name="Outcome") == "Outcome: Choose at least 2 options."
    )


def test_multiple_without_bounds_means_one_to_all():
    config = validate_config("categorical", {"options": ["A", "B"], "selection": "multiple"})
    assert value_error("categorical", config, []) == "Choose at least 1 option."
    assert validate_value("categorical", config, ["b", "a"]) == ["a", "b"]


keys = st.sampled_from(["a", "b", "c", "d", "e"])


@given(st.lists(keys, max_size=6))
def test_multiple_values_property(chosen):
    ok = len(set(chosen)) == len(chosen) and all(k in "abcd" for k in chosen) and 2 <= len(chosen) <= 3
    try:
        result = validate_value("categorical", MULTIPLE, chosen)
    except ValidationError:
        assert not ok
    else:
        assert ok and sorted(result) == sorted(chosen) and result == [k for k in "abcd" if k in chosen]


@given(st.one_of(st.text(max_size=5), st.lists(keys, max_size=3), st.integers(), st.none()))
def test_single_values_property(raw):
    valid = {"resolved", "escalated", "wrong"}
    as_list = [raw] if isinstance(raw, str) and raw else raw if isinstance(raw, list) else None
    ok = as_list is not None and len(as_list) == 1 and as_list[0] in valid
    try:
        assert validate_value("categorical", SINGLE, raw) == as_list
    except ValidationError:
        assert not ok
    else:
        assert ok


# --- values: numeric -------------------------------------------------------------------------------

STEPPED = validate_config("numeric", {"min": "0.5", "max": "10", "step": "0.25"})


def test_step_is_exact_decimal_arithmetic():
    assert validate_value("numeric", STEPPED, "1.0") == Decimal("1")
    assert validate_value("numeric", STEPPED, "0.75") == Decimal("0.75")
    assert value_error("numeric", STEPPED, "1.1") == "Must be a multiple of 0.25 counted from 0.5."
    # 0.1 + 0.2 is 0.30000000000000004 in floats; in decimals it is a multiple of 0.1.
    tenths = validate_config("numeric", {"step": "0.1"})
    assert validate_value("numeric", tenths, "0.3") == Decimal("0.3")
    assert validate_value("numeric", tenths, 0.3) == Decimal("0.3")
    assert value_error("numeric", tenths, "0.35") == "Must be a multiple of 0.1."


def test_bounds_are_inclusive_with_messages():
    assert validate_value("numeric", STEPPED, "0.5") == Decimal("0.5")
    assert validate_value("numeric", STEPPED, "10") == Decimal("10")
    assert value_error("numeric", STEPPED, "0.25") == "Must be at least 0.5."
    assert value_error("numeric", STEPPED, "10.25") == "Must be at most 10."


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter a number."),
        (None, "Enter a number."),
        (True, "Enter a number."),
        ("1,5", "Enter a number."),
        ("inf", "Enter a finite number."),
        ("1.0000001", "Use at most 6 decimal places."),
        ("1234567.123456", "Use at most 12 digits."),
        ("1e13", "Use at most 12 digits."),
        ("1e-999999999", "Use at most 6 decimal places."),
        ("9" * 200, "Enter a number."),
    ],
)
def test_number_format_rules(raw, message):
    assert value_error("numeric", {}, raw) == message


def test_number_format_limits_are_reachable():
    assert validate_value("numeric", {}, "123456789012") == Decimal("123456789012")
    assert validate_value("numeric", {}, "123456.123456") == Decimal("123456.123456")
    assert validate_value("numeric", {}, "-0.000001") == Decimal("-0.000001")
    # Trailing zeros carry no meaning: 1.50000000 is 1.5.
    assert validate_value("numeric", {}, "1.50000000") == Decimal("1.5")
    # 32 significant digits would be rounded by Decimal.normalize(); they must be refused instead.
    assert value_error("numeric", {}, "1.0000000000000000000000000000001") == "Use at most 6 decimal places."


decimals6 = st.decimals(min_value=Decimal("-999999"), max_value=Decimal("999999"), places=6, allow_nan=False)
steps = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1000"), places=6)


@given(low=decimals6, step=steps, n=st.integers(min_value=0, max_value=10**6))
def test_values_on_the_step_grid_are_valid(low, step, n):
    value = low + step * n
    assume(len(format_decimal(value).replace("-", "").replace(".", "").lstrip("0")) <= 12)
    config = validate_config("numeric", {"min": str(low), "step": str(step)})
    assert validate_value("numeric", config, format_decimal(value)) == value


@given(low=decimals6, step=steps, n=st.integers(min_value=0, max_value=10**6), off=steps)
def test_values_off_the_step_grid_are_refused(low, step, n, off):
    assume(off % step != 0)
    value = low + step * n + off
    assume(len(format_decimal(value).replace("-", "").replace(".", "").lstrip("0")) <= 12)
    config = validate_config("numeric", {"min": str(low), "step": str(step)})
    message = value_error("numeric", config, format_decimal(value))
    assert message == f"Must be a multiple of {format_decimal(step)} counted from {format_decimal(low)}."


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_any_decimal_is_accepted_exactly_when_it_fits_6_places_and_12_digits(value):
    text = format(value, "f")
    whole, _, fraction = text.lstrip("-").partition(".")
    fraction = fraction.rstrip("0")
    whole = whole.lstrip("0")
    fits = len(fraction) <= 6 and len(whole) + len(fraction) <= 12
    try:
        result = validate_value("numeric", {}, text)
    except ValidationError:
        assert not fits
    else:
        assert fits and result == value


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_floats_are_read_through_their_shortest_repr(value):
    try:
        result = validate_value("numeric", {}, value)
    except ValidationError:
        assert len(repr(value).partition(".")[2]) > 6 or "e" in repr(value)
    else:
        assert result == Decimal(repr(value))


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=6))
def test_bounds_property(value):
    config = validate_config("numeric", {"min": "-5.5", "max": "1000000"})
    try:
        validate_value("numeric", config, value)
    except ValidationError as e:
        assert (
            not (Decimal("-5.5") <= value <= 1000000)
            or len(str(abs(value)).replace(".", "").lstrip("0")) > 12
        )
        assert e.messages[0] in {
            "Must be at least -5.5.",
            "Must be at most 1000000.",
            "Use at most 12 digits.",
        }
    else:
        assert Decimal("-5.5") <= value <= 1000000


# --- values: boolean --------------------------------------------------------------------------------

LABELLED = validate_config("boolean", {"true_label": "Safe", "false_label": "Unsafe"})


@given(
    st.one_of(
        st.booleans(),
        st.sampled_from(["true", "false", "TRUE", " 1 ", "0"]),
        st.text(max_size=4),
        st.integers(),
    )
)
def test_boolean_values_property(raw):
    text = raw.strip().lower() if isinstance(raw, str) else None
    expected = (
        raw if isinstance(raw, bool) else {"true": True, "1": True, "false": False, "0": False}.get(text)
    )
    try:
        assert validate_value("boolean", LABELLED, raw) is expected
    except ValidationError as e:
        assert expected is None
        assert e.messages == ["Choose “Safe” or “Unsafe”."]


# --- history: what changed ------------------------------------------------------------------------


def test_describe_changes_between_categorical_versions():
    from scorers.configs import describe_changes

    before = validate_config("categorical", {"options": ["Resolved", "Escalated", "Abandoned"]})
    after = validate_config(
        "categorical",
        {
            "options": [
                {"key": "escalated", "label": "Escalated"},
                {"key": "resolved", "label": "Solved"},
                {"label": "Wrong"},
            ],
            "selection": "multiple",
            "max_selections": 2,
        },
    )
    assert describe_changes("categorical", before, after) == [
        "Renamed “Resolved” to “Solved”",
        "Added “Wrong”",
        "Removed “Abandoned”",
        "Reordered the options",
        "Selection: single → multiple",
        "At most: none → 2",
    ]


def test_describe_changes_for_numeric_and_boolean():
    from scorers.configs import describe_changes

    assert describe_changes("numeric", {"min": "0"}, {"min": "0.5", "step": "0.25"}) == [
        "Minimum: 0 → 0.5",
        "Step: none → 0.25",
    ]
    assert describe_changes(
        "boolean", {"true_label": "Yes", "false_label": "No"}, {"true_label": "Safe", "false_label": "No"}
    ) == ["Label for true: Yes → Safe"]


@pytest.mark.parametrize("raw", ["٣", "٣.٥", "1_000", "１", "²", "३"])
def test_only_ascii_digits_make_a_number(raw):
    with pytest.raises(ValidationError, match="Enter a number."):
        parse_decimal(raw)
    with pytest.raises(ValidationError):
        validate_value("numeric", {}, raw)
    with pytest.raises(ValidationError, match="whole number"):
        validate_config(
            "categorical",
            {"options": ["a", "b", "c", "d"], "selection": "multiple", "min_selections": raw},
        )


@pytest.mark.parametrize("raw", ["4", "-0.25", ".5", "+3", "1e3", " 7 "])
def test_plain_ascii_numbers_still_parse(raw):
    assert parse_decimal(raw) == Decimal(raw.strip())
