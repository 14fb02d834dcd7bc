"""The one place that knows what a scorer config and a score value may be (SPEC §3).

Used by the scorer forms (configs) and by review saving (values), so that both always agree.

- `validate_config(kind, config)` returns the normalised config or raises a `ValidationError`
  whose dict keys name the config field (`options`, `options.2.label`, `max_selections`, `step`...).
- `validate_value(kind, config, raw)` returns the normalised value or raises a `ValidationError`
  whose message states the rule ("Choose at most 2 options", "Must be a multiple of 0.25 counted
  from 0.5"); pass `name=` to prefix it with the scorer's name.

Normalised shapes (what is stored in `ScorerVersion.config`):

- categorical: `{"options": [{"key", "label"}...], "selection": "single"|"multiple"}` plus
  `min_selections` / `max_selections` when given (multiple only). Values: a list of option keys,
  in the options' order (one key for single).
- numeric: any of `min`, `max`, `step` as decimal *strings* (JSON floats are not exact). Values:
  `Decimal`, at most 6 decimal places and 12 digits in all, so any valid value fits a
  `DecimalField(max_digits=VALUE_STORAGE_MAX_DIGITS, decimal_places=VALUE_DECIMAL_PLACES)`.
- boolean: `{"true_label", "false_label"}`. Values: `True` / `False`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import slugify


class Kind(models.TextChoices):
    CATEGORICAL = "categorical", "Categorical"
    NUMERIC = "numeric", "Numeric"
    BOOLEAN = "boolean", "Boolean"


class Selection(models.TextChoices):
    SINGLE = "single", "Single choice"
    MULTIPLE = "multiple", "Multiple choice"


KEY_MAX_LENGTH = 128
LABEL_MAX_LENGTH = 256
# Not in the spec: a scorer is a field a person fills in; past this it is a data-entry accident.
MAX_OPTIONS = 100
# Plain ASCII decimal notation with an optional exponent ("4", "-0.25", ".5", "1e3").
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NON_FINITE = {"nan", "snan", "inf", "infinity"}
KEY_RE = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")

VALUE_MAX_DIGITS = 12
VALUE_DECIMAL_PLACES = 6
# 12 digits may all be whole (123456789012) or 6 of them decimals: a column holding every valid
# value needs 12 whole digits plus 6 decimal places.
VALUE_STORAGE_MAX_DIGITS = VALUE_MAX_DIGITS + VALUE_DECIMAL_PLACES

DEFAULT_TRUE_LABEL = "Yes"
DEFAULT_FALSE_LABEL = "No"

CATEGORICAL_FIELDS = {"options", "selection", "min_selections", "max_selections"}
NUMERIC_FIELDS = {"min", "max", "step"}
BOOLEAN_FIELDS = {"true_label", "false_label"}
FIELD_LABELS = {
    "min": "Minimum",
    "max": "Maximum",
    "step": "Step",
    "min_selections": "Minimum selections",
    "max_selections": "Maximum selections",
    "true_label": "Label for true",
    "false_label": "Label for false",
}


def default_config(kind: str) -> dict[str, Any]:
    """A valid starting config for a new scorer of `kind`."""
    if kind == Kind.CATEGORICAL:
        return {"options": [], "selection": Selection.SINGLE}
    if kind == Kind.NUMERIC:
        return {}
    return {"true_label": DEFAULT_TRUE_LABEL, "false_label": DEFAULT_FALSE_LABEL}


# --- configs ---------------------------------------------------------------------------------


def validate_config(kind: str, config: Any) -> dict[str, Any]:
    """Check `config` for a scorer of `kind` and return it normalised (see module docstring)."""
    if kind not in Kind.values:
        raise ValidationError({"kind": f"Unknown kind “{kind}”: choose categorical, numeric or boolean."})
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ValidationError({"config": "The config must be an object."})
    allowed = {
        Kind.CATEGORICAL: CATEGORICAL_FIELDS,
        Kind.NUMERIC: NUMERIC_FIELDS,
        Kind.BOOLEAN: BOOLEAN_FIELDS,
    }[kind]
    unknown = sorted(str(k) for k in config if k not in allowed)
    if unknown:
        raise ValidationError({"config": f"Unknown setting for a {kind} scorer: {', '.join(unknown)}."})
    if kind == Kind.CATEGORICAL:
        return _categorical_config(config)
    if kind == Kind.NUMERIC:
        return _numeric_config(config)
    return _boolean_config(config)


def _categorical_config(config: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    options = _options(config.get("options"), errors)

    selection = config.get("selection") or Selection.SINGLE
    if selection not in Selection.values:
        errors.setdefault("selection", []).append("Selection must be “single” or “multiple”.")
        selection = Selection.SINGLE
    result: dict[str, Any] = {"options": options, "selection": str(selection)}

    bounds: dict[str, int] = {}
    for field in ("min_selections", "max_selections"):
        raw = config.get(field)
        if raw is None or raw == "":
            continue
        if selection != Selection.MULTIPLE:
            errors.setdefault(field, []).append(f"{FIELD_LABELS[field]} only applies to multiple choice.")
            continue
        number = _integer(raw)
        if number is None:
            errors.setdefault(field, []).append(f"{FIELD_LABELS[field]} must be a whole number.")
        elif number < 1:
            errors.setdefault(field, []).append(f"{FIELD_LABELS[field]} must be at least 1.")
        elif options and number > len(options):
            errors.setdefault(field, []).append(
                f"{FIELD_LABELS[field]} must be at most the number of options ({len(options)})."
            )
        else:
            bounds[field] = number
    if (
        "min_selections" in bounds
        and "max_selections" in bounds
        and bounds["min_selections"] > bounds["max_selections"]
    ):
        errors.setdefault("max_selections", []).append(
            "Maximum selections must be at least the minimum selections."
        )
    result.update(bounds)
    if errors:
        raise ValidationError(errors)
    return result


def _options(raw: Any, errors: dict[str, list[str]]) -> list[dict[str, str]]:
    if raw is None:
        raw = []
    if not isinstance(raw, list | tuple):
        errors.setdefault("options", []).append("Options must be a list.")
        return []
    if not raw:
        errors.setdefault("options", []).append("Add at least one option.")
        return []
    if len(raw) > MAX_OPTIONS:
        errors.setdefault("options", []).append(f"At most {MAX_OPTIONS} options.")
        return []

    parsed: list[tuple[str, str]] = []  # (key or "", label)
    seen_labels: dict[str, int] = {}
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {"label": item}
        if not isinstance(item, Mapping):
            errors.setdefault(f"options.{i}", []).append(f"Option {i + 1} must have a label.")
            parsed.append(("", ""))
            continue
        label = item.get("label")
        label = label.strip() if isinstance(label, str) else ""
        if not label:
            errors.setdefault(f"options.{i}.label", []).append(f"Option {i + 1} needs a label.")
        elif len(label) > LABEL_MAX_LENGTH:
            errors.setdefault(f"options.{i}.label", []).append(
                f"Option {i + 1}: a label has at most {LABEL_MAX_LENGTH} characters."
            )
        elif label.casefold() in seen_labels:
            errors.setdefault(f"options.{i}.label", []).append(
                f"Option {i + 1}: two options are labelled “{label}”."
            )
        else:
            seen_labels[label.casefold()] = i
        key = item.get("key")
        key = key.strip() if isinstance(key, str) else ""
        if key and len(key) > KEY_MAX_LENGTH:
            errors.setdefault(f"options.{i}.key", []).append(
                f"Option {i + 1}: a key has at most {KEY_MAX_LENGTH} characters."
            )
        elif key and not KEY_RE.match(key):
            errors.setdefault(f"options.{i}.key", []).append(
                f"Option {i + 1}: a key is lowercase letters and digits joined by “_” or “-”."
            )
        parsed.append((key, label))

    given = [key for key, _ in parsed if key]
    taken: set[str] = set()
    for i, (key, _) in enumerate(parsed):
        if key and key in taken:
            errors.setdefault(f"options.{i}.key", []).append(
                f"Option {i + 1}: the key “{key}” is used twice."
            )
        taken.add(key)
    # Generated keys avoid every given key, including those of options further down the list.
    taken = set(given)
    options = []
    for key, label in parsed:
        if not key:
            key = key_from_label(label, taken)
            taken.add(key)
        options.append({"key": key, "label": label})
    return options


def key_from_label(label: str, taken: Iterable[str] = ()) -> str:
    """A key for a new option: the label slugified with `_`, unique among `taken`."""
    taken = set(taken)
    base = slugify(label).replace("-", "_")
    base = re.sub(r"_+", "_", base).strip("_")[:KEY_MAX_LENGTH].strip("_") or "option"
    key, n = base, 1
    while key in taken:
        n += 1
        suffix = f"_{n}"
        key = base[: KEY_MAX_LENGTH - len(suffix)].strip("_") + suffix
    return key


def _integer(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?[0-9]{1,9}\s*", raw):
        return int(raw)
    return None


def _numeric_config(config: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    parsed: dict[str, Decimal] = {}
    for field in ("min", "max", "step"):
        raw = config.get(field)
        if raw is None or raw == "":
            continue
        try:
            parsed[field] = parse_decimal(raw)
        except ValidationError as e:
            errors.setdefault(field, []).append(f"{FIELD_LABELS[field]}: {e.messages[0]}")
    if "step" in parsed and parsed["step"] <= 0:
        errors.setdefault("step", []).append("Step must be greater than 0.")
    if "min" in parsed and "max" in parsed and parsed["min"] > parsed["max"]:
        errors.setdefault("max", []).append("Maximum must be at least the minimum.")
    if errors:
        raise ValidationError(errors)
    return {field: format_decimal(value) for field, value in parsed.items()}


def _boolean_config(config: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    labels = {}
    for field, default in (("true_label", DEFAULT_TRUE_LABEL), ("false_label", DEFAULT_FALSE_LABEL)):
        raw = config.get(field, default)
        label = raw.strip() if isinstance(raw, str) else None
        if raw is None:
            label = default
        if not label:
            errors.setdefault(field, []).append(f"{FIELD_LABELS[field]} must not be blank.")
        elif len(label) > LABEL_MAX_LENGTH:
            errors.setdefault(field, []).append(
                f"{FIELD_LABELS[field]} has at most {LABEL_MAX_LENGTH} characters."
            )
        labels[field] = label
    if not errors and labels["true_label"].casefold() == labels["false_label"].casefold():
        errors.setdefault("false_label", []).append("The two labels must differ.")
    if errors:
        raise ValidationError(errors)
    return labels


# --- values ----------------------------------------------------------------------------------


def validate_value(kind: str, config: Mapping[str, Any], raw: Any, *, name: str = "") -> Any:
    """Check a score value against a (normalised) config and return it normalised.

    `config` is a stored version's config, so it is trusted to be valid. Raises a ValidationError
    with one message stating the rule, prefixed with `name` when given.
    """
    try:
        if kind == Kind.CATEGORICAL:
            return _categorical_value(config, raw)
        if kind == Kind.NUMERIC:
            return _numeric_value(config, raw)
        if kind == Kind.BOOLEAN:
            return _boolean_value(config, raw)
        raise ValidationError(f"Unknown scorer kind “{kind}”.", code="kind")
    except ValidationError as e:
        if not name:
            raise
        raise ValidationError(f"{name}: {e.messages[0]}", code=e.code) from None


def _categorical_value(config: Mapping[str, Any], raw: Any) -> list[str]:
    options = [option["key"] for option in config.get("options", [])]
    if raw is None or raw == "":
        chosen: list[Any] = []
    elif isinstance(raw, str):
        chosen = [raw]
    elif isinstance(raw, list | tuple):
        chosen = list(raw)
    else:
        raise ValidationError("Choose from the options.", code="invalid")
    for key in chosen:
        if not isinstance(key, str) or key not in options:
            shown = key if isinstance(key, str) else repr(key)
            raise ValidationError(
                f"“{shown[:KEY_MAX_LENGTH]}” is not one of the options.", code="unknown_option"
            )
    if len(set(chosen)) != len(chosen):
        raise ValidationError("Choose each option at most once.", code="duplicate")
    if config.get("selection", Selection.SINGLE) != Selection.MULTIPLE:
        if len(chosen) != 1:
            raise ValidationError("Choose exactly one option.", code="single")
        return chosen
    low = config.get("min_selections") or 1
    high = config.get("max_selections") or len(options)
    if len(chosen) < low:
        raise ValidationError(
            f"Choose at least {low} option{'s' if low != 1 else ''}.", code="min_selections"
        )
    if len(chosen) > high:
        raise ValidationError(
            f"Choose at most {high} option{'s' if high != 1 else ''}.", code="max_selections"
        )
    return [key for key in options if key in chosen]


def _numeric_value(config: Mapping[str, Any], raw: Any) -> Decimal:
    value = parse_decimal(raw)
    low = Decimal(config["min"]) if config.get("min") is not None else None
    high = Decimal(config["max"]) if config.get("max") is not None else None
    step = Decimal(config["step"]) if config.get("step") is not None else None
    if low is not None and value < low:
        raise ValidationError(f"Must be at least {format_decimal(low)}.", code="min")
    if high is not None and value > high:
        raise ValidationError(f"Must be at most {format_decimal(high)}.", code="max")
    if step is not None:
        with localcontext() as ctx:
            # Values have ≤ 12 digits and ≤ 6 decimals: 40 digits keeps every step exact.
            ctx.prec = 40
            remainder = (value - (low or Decimal(0))) % step
        if remainder != 0:
            counted = f" counted from {format_decimal(low)}" if low is not None else ""
            raise ValidationError(f"Must be a multiple of {format_decimal(step)}{counted}.", code="step")
    return value


def parse_decimal(raw: Any) -> Decimal:
    """Read a number exactly: a string, int or Decimal (a float through its shortest repr).

    Refuses NaN/infinity and numbers with more than 6 decimal places or 12 digits in all
    (trailing zeros after the point do not count).
    """
    if isinstance(raw, bool) or raw is None:
        raise ValidationError("Enter a number.", code="invalid")
    if isinstance(raw, float):
        raw = repr(raw)
    if isinstance(raw, str):
        raw = raw.strip()
        if not raw or len(raw) > 100:
            raise ValidationError("Enter a number.", code="invalid")
    if not isinstance(raw, str | int | Decimal):
        raise ValidationError("Enter a number.", code="invalid")
    if isinstance(raw, str) and not NUMBER_RE.fullmatch(raw) and raw.lstrip("+-").lower() not in NON_FINITE:
        # Decimal() also reads "٣" and "1_000": a number here is ASCII digits (NaN/inf are
        # left to the finiteness check below, which says so).
        raise ValidationError("Enter a number.", code="invalid")
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        raise ValidationError("Enter a number.", code="invalid") from None
    if not value.is_finite():
        raise ValidationError("Enter a finite number.", code="invalid")
    # Count digits from the tuple, not via normalize(): that rounds to the context precision.
    _, digits, exponent = value.as_tuple()
    digits = list(digits)
    while exponent < 0 and len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    if digits == [0]:
        return Decimal(0)
    decimals = max(0, -exponent)
    whole = max(0, len(digits) + exponent)
    if decimals > VALUE_DECIMAL_PLACES:
        raise ValidationError(f"Use at most {VALUE_DECIMAL_PLACES} decimal places.", code="decimal_places")
    if whole + decimals > VALUE_MAX_DIGITS:
        raise ValidationError(f"Use at most {VALUE_MAX_DIGITS} digits.", code="max_digits")
    return value.quantize(Decimal(1).scaleb(-decimals)) if decimals else value.quantize(Decimal(1))


def format_decimal(value: Decimal) -> str:
    """ "0.25", "10", "-3.5": plain notation, no trailing zeros (for configs and messages)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def _boolean_value(config: Mapping[str, Any], raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in {"true", "1"}:
        return True
    if isinstance(raw, str) and raw.strip().lower() in {"false", "0"}:
        return False
    yes = config.get("true_label", DEFAULT_TRUE_LABEL)
    no = config.get("false_label", DEFAULT_FALSE_LABEL)
    raise ValidationError(f"Choose “{yes}” or “{no}”.", code="invalid")


# --- display ---------------------------------------------------------------------------------


def display_value(kind: str, config: Mapping[str, Any], value: Any) -> str:
    """A stored value as people read it: option labels, the number, or the boolean's label."""
    if kind == Kind.CATEGORICAL:
        labels = {option["key"]: option["label"] for option in config.get("options", [])}
        keys = [value] if isinstance(value, str) else list(value or [])
        return ", ".join(labels.get(key, key) for key in keys)
    if kind == Kind.NUMERIC:
        return format_decimal(Decimal(value)) if value is not None else ""
    if value is None:
        return ""
    return config.get(
        "true_label" if value else "false_label", DEFAULT_TRUE_LABEL if value else DEFAULT_FALSE_LABEL
    )


def describe_config(kind: str, config: Mapping[str, Any]) -> str:
    """One line summarising a config for lists: "multiple, 1–2 of 4 options", "0.5 to 10, step 0.25"."""
    if kind == Kind.CATEGORICAL:
        n = len(config.get("options", []))
        if config.get("selection") == Selection.MULTIPLE:
            low = config.get("min_selections") or 1
            high = config.get("max_selections") or n
            return f"multiple choice, {low}–{high} of {n} options"
        return f"single choice of {n} option{'s' if n != 1 else ''}"
    if kind == Kind.NUMERIC:
        parts = []
        if "min" in config or "max" in config:
            parts.append(f"{config.get('min', '−∞')} to {config.get('max', '∞')}")
        if "step" in config:
            parts.append(f"step {config['step']}")
        return ", ".join(parts) or "any number"
    return (
        f"{config.get('true_label', DEFAULT_TRUE_LABEL)} / {config.get('false_label', DEFAULT_FALSE_LABEL)}"
    )


def value_hint(kind: str, config: Mapping[str, Any]) -> str:
    """The short instruction a reviewer sees next to the control: "Choose 1 to 2 options"."""
    if kind == Kind.CATEGORICAL:
        if config.get("selection") != Selection.MULTIPLE:
            return "Choose one option"
        n = len(config.get("options", []))
        low = config.get("min_selections") or 1
        high = config.get("max_selections") or n
        if low == high:
            return f"Choose {low} option{'s' if low != 1 else ''}"
        return f"Choose {low} to {high} options"
    if kind == Kind.NUMERIC:
        return "Any number" if not config else describe_config(kind, config).capitalize()
    return ""


def describe_changes(kind: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What changed from one version's config to the next, for the history page."""
    changes: list[str] = []
    if kind == Kind.CATEGORICAL:
        old = {o["key"]: o["label"] for o in before.get("options", [])}
        new = {o["key"]: o["label"] for o in after.get("options", [])}
        for key, label in new.items():
            if key not in old:
                changes.append(f"Added “{label}”")
            elif old[key] != label:
                changes.append(f"Renamed “{old[key]}” to “{label}”")
        changes += [f"Removed “{label}”" for key, label in old.items() if key not in new]
        kept_old = [key for key in old if key in new]
        kept_new = [key for key in new if key in old]
        if kept_old != kept_new:
            changes.append("Reordered the options")
        fields = [("selection", "Selection"), ("min_selections", "At least"), ("max_selections", "At most")]
    elif kind == Kind.NUMERIC:
        fields = [("min", "Minimum"), ("max", "Maximum"), ("step", "Step")]
    else:
        fields = [("true_label", "Label for true"), ("false_label", "Label for false")]
    for name, label in fields:
        if before.get(name) != after.get(name):
            changes.append(f"{label}: {before.get(name, 'none')} → {after.get(name, 'none')}")
    return changes
