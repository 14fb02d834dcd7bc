"""The review panel's context, shared by the `{% review_panel trace %}` tag (trace page) and the
review views (htmx swaps and the no-JavaScript page), so both render the same thing."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from projects.access import ProjectAccess
from reviews.forms import ReviewEditor
from reviews.models import Review, ReviewRevision
from reviews.services import ReviewConflict
from tracereview.params import parse_int
from traces.models import Trace

MODES = {"view", "edit", "delete", "history"}


def active_review(trace: Trace) -> Review | None:
    return (
        Review.objects.active()
        .filter(trace=trace)
        .select_related("reviewed_by", "created_by")
        .with_scores()
        .first()
    )


def panel_context(
    *,
    access: ProjectAccess | None,
    trace: Trace,
    mode: str = "view",
    review: Review | None = None,
    editor: ReviewEditor | None = None,
    conflict: ReviewConflict | None = None,
    load_review: bool = True,
    queue: str | None = None,
) -> dict[str, Any]:
    """Everything `reviews/review_panel.html` needs. Viewers always get the read-only view."""
    can_review = bool(access and access.can_review)
    if review is None and load_review:
        review = active_review(trace)
    if mode not in MODES or (mode in {"edit", "delete"} and not can_review):
        mode = "view"
    if mode == "delete" and review is None:
        mode = "view"
    if mode == "edit" and editor is None:
        editor = ReviewEditor(trace=trace, review=review)
    slug, trace_id = trace.project.slug, trace.trace_id
    # Queue context (`?queue=<id>` on the trace page): the form carries it, and saving opens the
    # queue's next trace ("Save & next", SPEC §5).
    queue = str(queue_id) if (queue_id := parse_int(queue)) is not None else None
    context: dict[str, Any] = {
        "queue": queue,
        "queue_query": f"&queue={queue}" if queue else "",
        "trace": trace,
        "review": review,
        "mode": mode,
        "editor": editor,
        "conflict": conflict,
        "can_review": can_review,
        "panel_url": reverse("reviews:panel", args=[slug, trace_id]),
        "view_url": reverse("reviews:panel", args=[slug, trace_id]) + (f"?queue={queue}" if queue else ""),
        "delete_url": reverse("reviews:delete", args=[slug, trace_id]),
        "trace_url": trace.get_absolute_url(),
    }
    if mode == "history":
        context["revisions"] = list(
            ReviewRevision.objects.filter(trace=trace).select_related("by").order_by("-number")
        )
    return context
