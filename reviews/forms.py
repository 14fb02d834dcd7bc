"""The review form: reasoning, the base revision, and one control per scorer the reviewer picked.

Which scorers are on the form is part of the posted data (`scorer` repeated, in the order they
were added), so adding or removing one (`add_scorer` / `remove_scorer` buttons) re-renders the
form with everything typed so far, with or without JavaScript. Each control is built from the
config snapshot of the version the score will be validated against (`services.score_sources`),
so the form offers exactly what the save accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict

from reviews.models import REASONING_MAX_LENGTH, Review
from reviews.services import ScoreSource, score_sources
from scorers.configs import (
    DEFAULT_FALSE_LABEL,
    DEFAULT_TRUE_LABEL,
    Kind,
    Selection,
    format_decimal,
    value_hint,
)
from scorers.models import Scorer
from tracereview.params import INT_MAX, parse_int
from traces.models import Trace


class ReviewForm(forms.Form):
    reasoning = forms.CharField(
        required=False,
        max_length=REASONING_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Why these scores? (optional)"}),
    )
    base_revision = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_base_revision(self) -> int | None:
        raw = self.cleaned_data["base_revision"]
        if not raw:
            return None
        number = parse_int(raw, min_value=1, max_value=INT_MAX)
        if number is None:
            # The field is hidden: say it where the reviewer sees it.
            self.add_error(None, "This form is out of date: reload the trace and review it again.")
        return number


@dataclass
class ScoreControl:
    """One scorer's field on the form, rendered from the version snapshot it will be saved with."""

    source: ScoreSource
    raw: Any = None
    errors: list[str] = field(default_factory=list)

    @property
    def scorer(self) -> Scorer:
        return self.source.scorer

    @property
    def name(self) -> str:
        return f"score_{self.scorer.pk}"

    @property
    def kind(self) -> str:
        return self.source.kind

    @property
    def config(self) -> dict[str, Any]:
        return self.source.config

    @property
    def multiple(self) -> bool:
        return self.config.get("selection") == Selection.MULTIPLE

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Options (categorical) or the two labelled answers (boolean), with `checked`."""
        if self.kind == Kind.CATEGORICAL:
            chosen = self.raw if isinstance(self.raw, list) else [self.raw]
            return [
                {"value": o["key"], "label": o["label"], "checked": o["key"] in chosen}
                for o in self.config.get("options", [])
            ]
        if self.kind == Kind.BOOLEAN:
            return [
                {
                    "value": "true",
                    "label": self.config.get("true_label", DEFAULT_TRUE_LABEL),
                    "checked": self.raw == "true",
                },
                {
                    "value": "false",
                    "label": self.config.get("false_label", DEFAULT_FALSE_LABEL),
                    "checked": self.raw == "false",
                },
            ]
        return []

    @property
    def hint(self) -> str:
        # The same words as the scorer editor's preview, from the version's snapshot.
        return value_hint(self.kind, self.config)

    @property
    def outdated(self) -> bool:
        """Pinned to an older version than the scorer's current one (shown as a note)."""
        current = self.scorer.current_version
        return self.source.pinned and current is not None and current.number != self.source.version_number


class ReviewEditor:
    """The review form plus its score controls and the picker of scorers that can be added.

    Built from the active review (GET) or from posted data (POST, keeping all input).
    """

    def __init__(self, *, trace: Trace, review: Review | None, data: QueryDict | None = None):
        self.trace = trace
        self.review = review
        self.unknown: list[str] = []
        # All scorers of the project, archived included: a pinned score may be for an archived one.
        self.scorers = {
            s.pk: s for s in Scorer.objects.for_project(trace.project).select_related("current_version")
        }
        if data is None:
            self.form = ReviewForm(
                initial={
                    "reasoning": review.reasoning if review else "",
                    "base_revision": review.revision if review else None,
                }
            )
            included = [score.scorer_id for score in review.scores.all()] if review else []
            raws = (
                {score.scorer_id: _raw_from_value(score.kind, score.value) for score in review.scores.all()}
                if review
                else {}
            )
        else:
            self.form = ReviewForm(data)
            included = self._included_from(data)
            raws = {}
        sources = score_sources(review=review, scorers=[self.scorers[pk] for pk in included])
        self.controls = [ScoreControl(sources[pk]) for pk in included if pk in sources]
        for control in self.controls:
            pk = control.scorer.pk
            if data is None:
                control.raw = raws.get(pk)
            elif control.kind == Kind.CATEGORICAL and control.multiple:
                control.raw = data.getlist(control.name)
            else:
                control.raw = data.get(control.name)

    def _included_from(self, data: QueryDict) -> list[int]:
        included: list[int] = []
        unknown: set[str] = set()  # a set: a form may carry thousands of junk ids
        for raw in data.getlist("scorer"):
            pk = parse_int(raw)
            if pk in self.scorers:
                if pk not in included:
                    included.append(pk)
            elif raw not in unknown:
                unknown.add(raw)
                # Kept so the save refuses it with a message instead of silently dropping a score.
                self.unknown.append(raw)
        add = parse_int(data.get("add_scorer"))
        if add in self.scorers and add not in included:
            scorer = self.scorers[add]
            # The picker offers active scorers only; a posted archived id is simply not added.
            if not scorer.is_archived:
                included.append(add)
        remove = parse_int(data.get("remove_scorer"))
        if remove in included:
            included.remove(remove)
        return included

    @property
    def is_action(self) -> bool:
        """True for an add/remove round trip: re-render, do not save."""
        data = self.form.data
        return bool(data.get("add_scorer") or data.get("remove_scorer"))

    @property
    def addable(self) -> list[Scorer]:
        """The picker: active scorers not on the form yet."""
        on_form = {c.scorer.pk for c in self.controls}
        return [s for s in self.scorers.values() if not s.is_archived and s.pk not in on_form]

    def scores(self) -> dict[Any, Any]:
        scores: dict[Any, Any] = {control.scorer.pk: control.raw for control in self.controls}
        scores.update({raw: None for raw in self.unknown})
        return scores

    def add_errors(self, errors: dict[Any, list[str]]) -> None:
        """Put a save's ValidationError dict next to the fields it concerns."""
        by_scorer = {c.scorer.pk: c for c in self.controls}
        unknown_reported = False
        for key, messages in errors.items():
            control = by_scorer.get(parse_int(key))
            if key is None:
                for message in messages:
                    self.form.add_error(None, message)
            elif control is None and key not in self.form.fields:
                if not unknown_reported:
                    self.form.add_error(
                        None, "A scorer on this form does not exist in this project: reload the page."
                    )
                    unknown_reported = True
            elif control is not None:
                control.errors.extend(messages)
            else:
                for message in messages:
                    self.form.add_error(key, message)

    @property
    def has_errors(self) -> bool:
        return bool(self.form.errors) or any(c.errors for c in self.controls)


def _raw_from_value(kind: str, value: Any) -> Any:
    """A stored value in the shape the form posts it."""
    if kind == Kind.NUMERIC:
        return format_decimal(value)
    if kind == Kind.BOOLEAN:
        return "true" if value else "false"
    return list(value)
