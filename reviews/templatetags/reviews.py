"""`{% review_panel trace %}`: the review panel on the trace page, and `{% score_tags review %}`:
a review's scores as tags ("Accuracy: 4") for lists.

The trace page reaches reviews only through this tag and the `trace.reviews` relation, so the
traces app never imports reviews code.
"""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

from reviews.models import Review
from reviews.panel import panel_context

register = template.Library()


@register.inclusion_tag("reviews/review_panel.html", takes_context=True)
def review_panel(context: template.Context, trace) -> dict:
    request = context.get("request")
    access = getattr(request, "project_access", None) or context.get("access")
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        **panel_context(access=access, trace=trace, queue=request.GET.get("queue") if request else None),
    }


@register.inclusion_tag("reviews/score_tags.html")
def score_tags(review, empty: str = "") -> dict:
    """Tags for an active review's prefetched scores; `empty` shows when there are none."""
    return {
        "scores": list(review.scores.all()) if review is not None else [],
        "review": review,
        "empty": empty,
    }


@register.simple_tag
def active_reviews(traces) -> dict[int, Review]:
    """Trace pk -> active review with its scores, for a page of traces: two queries in all."""
    pks = [trace.pk for trace in traces]
    if not pks:
        return {}
    return {
        review.trace_id: review for review in Review.objects.active().filter(trace_id__in=pks).with_scores()
    }


@register.inclusion_tag("reviews/score_tags.html")
def review_status(reviews_by_trace: dict, trace) -> dict:
    """The traces list's review column: the active review's score tags, or nothing."""
    review = reviews_by_trace.get(trace.pk) if reviews_by_trace else None
    return {"scores": list(review.scores.all()) if review else [], "review": review, "empty": "Reviewed"}


@register.simple_tag
def reviews_assets() -> str:
    """The reviews stylesheet, for pages that show score tags outside the review panel."""
    return format_html('<link rel="stylesheet" href="{}">', static("css/reviews.css"))
