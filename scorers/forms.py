"""The scorer editor: metadata fields, the kind's settings, and option rows.

Option rows are plain repeated inputs (`option_key`, `option_label`) so that the form works
without JavaScript; the row buttons (add, remove, move up/down) are submit buttons named
`_action` that re-render the editor without saving. All config rules live in `configs.py`: this
form only gathers the config and maps that module's errors onto its fields and rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from scorers.configs import (
    DEFAULT_FALSE_LABEL,
    DEFAULT_TRUE_LABEL,
    LABEL_MAX_LENGTH,
    MAX_OPTIONS,
    Kind,
    Selection,
    default_config,
    validate_config,
    validate_value,
    value_hint,
)

MIN_ROWS = 3
ACTION_RE = re.compile(r"^(add|kind|refresh|remove|up|down)(?:-([0-9]{1,4}))?$")


@dataclass
class OptionRow:
    key: str = ""
    label: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def is_blank(self) -> bool:
        return not self.key.strip() and not self.label.strip()


class ScorerForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown to reviewers.",
    )
    kind = forms.ChoiceField(choices=Kind.choices, widget=forms.RadioSelect, initial=Kind.CATEGORICAL)
    selection = forms.ChoiceField(
        choices=Selection.choices, widget=forms.RadioSelect, required=False, initial=Selection.SINGLE
    )
    min_selections = forms.CharField(
        required=False, label="At least", widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 4})
    )
    max_selections = forms.CharField(
        required=False, label="At most", widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 4})
    )
    min = forms.CharField(
        required=False, label="Minimum", widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    max = forms.CharField(
        required=False, label="Maximum", widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    step = forms.CharField(
        required=False,
        label="Step",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text="Values must be a multiple of the step, counted from the minimum (or 0).",
    )
    true_label = forms.CharField(
        required=False, max_length=LABEL_MAX_LENGTH, label="Label for true", initial=DEFAULT_TRUE_LABEL
    )
    false_label = forms.CharField(
        required=False, max_length=LABEL_MAX_LENGTH, label="Label for false", initial=DEFAULT_FALSE_LABEL
    )

    CONFIG_FIELDS = (
        "selection",
        "min_selections",
        "max_selections",
        "min",
        "max",
        "step",
        "true_label",
        "false_label",
    )

    def __init__(self, data=None, *, scorer=None, **kwargs) -> None:
        """`scorer` given: editing, the kind is fixed and the initial values come from its config."""
        self.scorer = scorer
        if scorer is not None and data is None and "initial" not in kwargs:
            kwargs["initial"] = initial_from_config(scorer.kind, scorer.config) | {
                "name": scorer.name,
                "description": scorer.description,
            }
        super().__init__(data, **kwargs)
        if scorer is not None:
            del self.fields["kind"]
        self.rows = self._rows()
        self.config: dict[str, Any] | None = None

    # -- what the form holds --------------------------------------------------------------

    @property
    def current_kind(self) -> str:
        if self.scorer is not None:
            return self.scorer.kind
        raw = self.data.get("kind") if self.is_bound else self.initial.get("kind")
        return raw if raw in Kind.values else Kind.CATEGORICAL

    def _value(self, name: str) -> str:
        # A field missing from the POST (its kind's section was not shown) falls back to its
        # initial value, so switching the kind starts from sensible defaults ("Yes"/"No").
        if self.is_bound and name in self.data:
            raw = self.data.get(name, "")
            return raw if isinstance(raw, str) else ""
        value = self.initial.get(name, self.fields[name].initial if name in self.fields else "")
        return "" if value is None else str(value)

    def _rows(self) -> list[OptionRow]:
        if self.is_bound:
            keys = self.data.getlist("option_key") if hasattr(self.data, "getlist") else []
            labels = self.data.getlist("option_label") if hasattr(self.data, "getlist") else []
            rows = [OptionRow(key=k, label=v) for k, v in zip(keys, labels, strict=False)]
        else:
            rows = [OptionRow(key=o["key"], label=o["label"]) for o in self.initial.get("options", [])]
        rows = rows[: MAX_OPTIONS + MIN_ROWS]
        while len(rows) < MIN_ROWS:
            rows.append(OptionRow())
        return rows

    def raw_config(self) -> dict[str, Any]:
        """The config as typed, for validate_config(); blank option rows are left out."""
        kind = self.current_kind
        if kind == Kind.CATEGORICAL:
            selection = self._value("selection") or Selection.SINGLE
            config: dict[str, Any] = {
                "options": [{"key": r.key.strip(), "label": r.label} for r in self.rows if not r.is_blank],
                "selection": selection,
            }
            if selection == Selection.MULTIPLE:
                config["min_selections"] = self._value("min_selections").strip() or None
                config["max_selections"] = self._value("max_selections").strip() or None
            return config
        if kind == Kind.NUMERIC:
            return {name: self._value(name).strip() or None for name in ("min", "max", "step")}
        return {name: self._value(name) for name in ("true_label", "false_label")}

    @property
    def values(self) -> dict[str, str]:
        """Every field's current text, for the template (which renders inputs by hand)."""
        names = ["name", "description", "kind", *self.CONFIG_FIELDS]
        values = {name: self._value(name) for name in names}
        values["kind"] = self.current_kind
        values["selection"] = values["selection"] or Selection.SINGLE
        return values

    # -- row actions (no save) ------------------------------------------------------------

    def apply_action(self, action: str) -> None:
        """Add, remove or move an option row, or switch the kind; unknown actions do nothing."""
        match = ACTION_RE.match(action or "")
        if not match:
            return
        verb, index = match.group(1), int(match.group(2) or -1)
        rows = self.rows
        if verb == "add" and len(rows) < MAX_OPTIONS:
            rows.append(OptionRow())
        elif verb == "remove" and 0 <= index < len(rows):
            rows.pop(index)
        elif verb == "up" and 0 < index < len(rows):
            rows[index - 1], rows[index] = rows[index], rows[index - 1]
        elif verb == "down" and 0 <= index < len(rows) - 1:
            rows[index + 1], rows[index] = rows[index], rows[index + 1]
        while len(rows) < MIN_ROWS:
            rows.append(OptionRow())

    # -- validation -----------------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        try:
            self.config = validate_config(self.current_kind, self.raw_config())
        except ValidationError as e:
            self._attach_config_errors(e)
        return cleaned

    def _attach_config_errors(self, error: ValidationError) -> None:
        filled = [i for i, row in enumerate(self.rows) if not row.is_blank]
        for key, messages in error.message_dict.items():
            match = re.match(r"^options\.([0-9]+)(?:\.\w+)?$", key)
            if match and int(match.group(1)) < len(filled):
                self.rows[filled[int(match.group(1))]].errors.extend(messages)
            elif key == "options":
                self.option_errors.extend(messages)
            elif key in self.fields:
                for message in messages:
                    self.add_error(key, message)
            else:
                for message in messages:
                    self.add_error(None, message)

    @property
    def option_errors(self) -> list[str]:
        if not hasattr(self, "_option_errors"):
            self._option_errors: list[str] = []
        return self._option_errors

    @property
    def has_row_errors(self) -> bool:
        return bool(self.option_errors) or any(row.errors for row in self.rows)

    def is_valid(self) -> bool:
        return super().is_valid() and not self.has_row_errors

    # -- preview --------------------------------------------------------------------------

    def preview(self) -> dict[str, Any]:
        """What the live preview shows: the control for the typed config (or why there is none),
        and the outcome of checking the sample value the admin tried in it (`preview_value`)."""
        kind = self.current_kind
        try:
            config = validate_config(kind, self.raw_config())
        except ValidationError as e:
            return {
                "kind": kind,
                "config": None,
                "problems": sorted({m for ms in e.message_dict.values() for m in ms}),
            }
        result = preview_context(kind, config)
        sent = self.data.getlist("preview_value") if hasattr(self.data, "getlist") else []
        tried = [v for v in sent if isinstance(v, str) and v.strip()]
        result["tried"] = tried
        if tried:
            # A multiple choice takes the list; every other control sends one value.
            raw_value = tried if result["multiple"] else tried[0]
            try:
                validate_value(kind, config, raw_value)
                result["value_ok"] = True
            except ValidationError as e:
                result["value_error"] = e.messages[0]
        return result


def initial_from_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Form initial values from a stored (normalised) config."""
    config = config or default_config(kind)
    initial: dict[str, Any] = {"kind": kind}
    if kind == Kind.CATEGORICAL:
        initial.update(
            options=config.get("options", []),
            selection=config.get("selection", Selection.SINGLE),
            min_selections=config.get("min_selections", ""),
            max_selections=config.get("max_selections", ""),
        )
    elif kind == Kind.NUMERIC:
        initial.update({name: config.get(name, "") for name in ("min", "max", "step")})
    else:
        initial.update(true_label=config.get("true_label", ""), false_label=config.get("false_label", ""))
    return initial


def preview_context(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """What the control template needs to draw a reviewer's control for a valid config."""
    return {
        "kind": kind,
        "config": config,
        "problems": [],
        "tried": [],
        "hint": value_hint(kind, config),
        "multiple": kind == Kind.CATEGORICAL and config.get("selection") == Selection.MULTIPLE,
    }
