"""Queue pieces of the trace page, as inclusion tags: the traces app may not import queues (imports
point queues -> traces), so its template loads them instead.

    {% load queues %}{% queue_bar trace %}{% add_to_queue trace %}

`queue_bar` shows the queue context (`?queue=<id>`): back, previous, next, "7 of 42 pending", and
who holds the trace. Opening a trace in queue context claims it, so the bar is also where that
claim is taken or refreshed (a reload keeps the claim alive).
"""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from projects.access import ProjectAccess
from projects.models import Project
from queues import services
from queues.models import QueueItem, ReviewQueue
from tracereview.params import parse_int
from traces.models import Trace

register = template.Library()


def _access(request: HttpRequest) -> ProjectAccess | None:
    return getattr(request, "project_access", None)


def add_to_queue_context(
    request: HttpRequest, trace: Trace, *, project: Project | None = None, access: ProjectAccess | None = None
) -> dict:
    access = access or _access(request)
    project = project or trace.project
    can_review = bool(access and access.can_review)
    return {
        "trace": trace,
        "project": project,
        "can_review": can_review,
        "queues": list(ReviewQueue.objects.active().for_project(project).order_by("name"))
        if can_review
        else [],
        "pending": services.pending_item_for_trace(trace),
        "request": request,
        "next_url": request.get_full_path() if request.method == "GET" else "",
    }


@register.inclusion_tag("queues/add_to_queue.html", takes_context=True)
def add_to_queue(context, trace: Trace) -> dict:
    request = context["request"]
    data = add_to_queue_context(request, trace)
    data["csrf_token"] = context.get("csrf_token")
    return data


def queue_bar_context(request: HttpRequest, trace: Trace) -> dict:
    raw = request.GET.get("queue", "")
    if not raw:
        return {"show": False}
    queue = None
    if (queue_id := parse_int(raw)) is not None:
        queue = ReviewQueue.objects.active().filter(project_id=trace.project_id, pk=queue_id).first()
    if queue is None:
        return {"show": True, "missing": True}
    user = request.user
    access = _access(request)
    anchor = services.anchor_item(queue, trace)
    holder = None
    if anchor is not None and anchor.is_pending:
        if anchor.claimed_by_other(user):
            holder = anchor
        elif access is not None and access.can_review:  # viewers read without claiming
            services.claim(anchor, user)
    if anchor is not None:
        previous, following = services.neighbours(queue, anchor, user=user)
        place, total = services.position(queue, anchor)
    else:
        previous, following = None, None
        place, total = None, services.pending_count(queue)
    slug = access.project.slug if access else trace.project.slug
    next_url = reverse("queues:next", args=[slug, queue.pk])
    next_url += f"?after={anchor.pk}" if anchor else ""
    return {
        "show": True,
        "queue": queue,
        "trace": trace,
        "item": anchor,
        "in_queue": anchor is not None and anchor.is_pending,
        "holder": holder,
        "previous": previous,
        "following": following,
        "place": place,
        "total": total,
        "back_url": reverse("queues:detail", args=[slug, queue.pk]),
        "next_url": next_url,
        "prev_url": (reverse("queues:prev", args=[slug, queue.pk]) + f"?before={anchor.pk}")
        if previous
        else "",
    }


@register.inclusion_tag("queues/queue_bar.html", takes_context=True)
def queue_bar(context, trace: Trace) -> dict:
    return queue_bar_context(context["request"], trace)


@register.simple_tag
def queues_assets() -> str:
    """The queue stylesheet and keyboard script, for pages that show queue pieces (the trace page)."""
    from django.templatetags.static import static
    from django.utils.html import format_html

    return format_html(
        '<link rel="stylesheet" href="{}"><script src="{}" defer></script>',
        static("css/queues.css"),
        static("js/queues.js"),
    )


@register.inclusion_tag("queues/bulk_add_bar.html", takes_context=True)
def bulk_add_bar(context, count: int = 0, count_more: bool = False) -> dict:
    """The traces list's "add selected / add all N matching" form. Row checkboxes join it with
    `form="bulk-add"`; the current filters travel as a querystring the server re-applies."""
    request = context["request"]
    access = _access(request)
    project = context.get("project")
    can_review = bool(access and access.can_review)
    filters = request.GET.copy()
    for key in ("after", "before", "page"):
        filters.pop(key, None)
    return {
        "show": can_review and project is not None,
        "project": project,
        "queues": list(ReviewQueue.objects.active().for_project(project).order_by("name"))
        if can_review
        else [],
        "filters": filters.urlencode(),
        "count": count,
        "count_more": count_more,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def pending_queues(traces) -> dict[int, ReviewQueue]:
    """{trace pk: queue it is pending in} for a page of traces, in one query."""
    pks = [t.pk for t in traces]
    if not pks:
        return {}
    items = QueueItem.objects.pending().filter(trace_id__in=pks).select_related("queue", "queue__project")
    return {item.trace_id: item.queue for item in items}


@register.filter
def queue_for(pending: dict, trace: Trace) -> ReviewQueue | None:
    return pending.get(trace.pk) if pending else None


@register.filter
def ago(value) -> str:
    """ "just now" under a minute, else "5 minutes ago" (timesince alone says "0 minutes")."""
    from django.utils.timesince import timesince

    if not value:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value)} ago"
