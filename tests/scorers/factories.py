"""Scorers are made through the service, as the app makes them: with a validated version 1."""

from __future__ import annotations

from typing import Any

from scorers import services
from scorers.models import Scorer

CATEGORICAL = {
    "options": [{"label": "Resolved"}, {"label": "Escalated"}, {"label": "Wrong answer"}],
    "selection": "single",
}
NUMERIC = {"min": "0.5", "max": "10", "step": "0.25"}
BOOLEAN = {"true_label": "Safe", "false_label": "Unsafe"}
CONFIGS = {"categorical": CATEGORICAL, "numeric": NUMERIC, "boolean": BOOLEAN}

_counter = iter(range(1, 1_000_000))


def make_scorer(
    project, *, kind: str = "categorical", name: str | None = None, config: Any = None, user=None
) -> Scorer:
    return services.create_scorer(
        project=project,
        kind=kind,
        name=name or f"Scorer {next(_counter)}",
        config=CONFIGS[kind] if config is None else config,
        user=user,
    )
