"""Factories and helpers for review tests: traces, scorers (through the scorers service, so
versions are real) and reviews (through `save_review`)."""

from __future__ import annotations

from typing import Any

import factory

from reviews.services import save_review
from scorers.services import create_scorer
from traces.models import Trace


class TraceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trace

    trace_id = factory.Sequence(lambda n: f"trace-{n}")
    name = factory.Sequence(lambda n: f"support-chat {n}")


OUTCOME = {
    "options": [
        {"key": "resolved", "label": "Resolved"},
        {"key": "escalated", "label": "Escalated"},
        {"key": "abandoned", "label": "Abandoned"},
    ],
    "selection": "single",
}
TAGS = {
    "options": [
        {"key": "tone", "label": "Tone"},
        {"key": "facts", "label": "Facts"},
        {"key": "format", "label": "Format"},
    ],
    "selection": "multiple",
    "max_selections": 2,
}
ACCURACY = {"min": "1", "max": "5", "step": "0.5"}
SAFE = {"true_label": "Safe", "false_label": "Unsafe"}


def make_scorer(project, name: str, kind: str, config: dict[str, Any] | None = None, user=None):
    default = {"categorical": OUTCOME, "numeric": ACCURACY, "boolean": SAFE}[kind]
    return create_scorer(project=project, kind=kind, name=name, config=config or default, user=user)


def make_review(trace, user, scores=None, reasoning: str = "", base_revision=None):
    return save_review(
        trace=trace, user=user, reasoning=reasoning, scores=scores or {}, base_revision=base_revision
    )
