"""Traces list and trace page (SPEC §2.2).

Both pages run a fixed number of queries whatever the data size: the list reads one page of
Trace rows by keyset; the trace page reads the tree in one query without the large content
fields, and the full content of the selected observation only.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails

from projects.access import get_project_access
from traces.conversation import render_field
from traces.detail import ObservationDetail
from traces.filters import TraceFilter
from traces.links import trace_url
from traces.models import Observation, ObservationKind, Trace
from traces.pagination import PAGE_SIZE, capped_count, keyset_page
from traces.tree import build_tree, default_selection, flatten, summarise_event

MAX_HEADER_EVENTS = 100
# Query parameters of the trace page that other parts of the app put there (queue context).
CONTEXT_PARAMS = ("queue",)


def _fragment(request, target: str) -> bool:
    """True when htmx asks for the part of the page with id `target` (not a history restore)."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and htmx.target == target


def _render(request, template: str, context: dict, *, fragment: str | None = None) -> HttpResponse:
    response = render(request, f"{template}#{fragment}" if fragment else template, context)
    # Full page and fragment share a URL: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@login_required
def trace_list(request, slug: str) -> HttpResponse:
    access = get_project_access(request, slug)
    project = access.project
    filterset = TraceFilter(request.GET or None, queryset=Trace.objects.for_project(project), project=project)
    traces = filterset.qs
    after, before = request.GET.get("after"), request.GET.get("before")
    page = keyset_page(traces.annotate(cost_reported=_cost_reported()), after=after, before=before)
    if not after and not before and len(page.rows) < PAGE_SIZE:
        count, more = len(page.rows), False  # the whole result is on this page: no COUNT needed
    else:
        count, more = capped_count(traces)
    context = {
        "nav": "traces",
        "list_url": reverse("traces:list", args=[project.slug]),
        "filter": filterset,
        "page": page,
        "count": count,
        "count_more": more,
        "is_filtered": filterset.is_bound and filterset.form.is_valid() and filterset.is_filtered,
    }
    fragment = "results" if _fragment(request, "results") else None
    return _render(request, "traces/trace_list.html", context, fragment=fragment)


def _cost_reported() -> Exists:
    """Whether any observation of the trace reported a cost: Trace.total_cost is 0 both for a real
    $0 and for "nobody said", and the pages show "$0" for the first and "—" for the second."""
    reported = Q(total_cost__isnull=False) | Q(input_cost__isnull=False) | Q(output_cost__isnull=False)
    return Exists(Observation.objects.filter(reported, trace=OuterRef("pk")))


@login_required
def trace_detail(request, slug: str, trace_id: str) -> HttpResponse:
    access = get_project_access(request, slug)
    if "\x00" in trace_id:  # PostgreSQL refuses NUL in a query parameter; no id can hold one
        raise Http404
    trace = get_object_or_404(
        Trace.objects.for_project(access.project).select_related("project"), trace_id=trace_id
    )
    span = request.GET.get("span") or None
    selected = _selected_detail(trace, span) if span else None
    context = {"nav": "traces", "trace": trace, "span": span, "detail": selected}

    if _fragment(request, "detail"):
        return _render(request, "traces/trace_detail.html", context, fragment="detail")

    # The whole tree in one query, without the large JSON fields.
    roots = build_tree(trace.observations.in_tree().light().order_by("started_at", "id"), trace.trace_id)
    nodes = flatten(roots)
    page_url = trace_url(access.project.slug, trace.trace_id)
    # Selecting a span keeps the page's context (`?queue=`, SPEC §9), so a reload stays in it.
    kept = {name: request.GET[name] for name in CONTEXT_PARAMS if request.GET.get(name)}
    for node in nodes:  # one reverse() for the page, not one per node
        node.url = f"{page_url}?{urlencode({'span': node.span_id, **kept})}"
    if span is None:
        first = default_selection(nodes)
        if first is not None:
            context["detail"] = _selected_detail(trace, first.span_id)
    events = trace.observations.filter(kind=ObservationKind.EVENT).order_by("started_at", "id")[
        :MAX_HEADER_EVENTS
    ]
    context.update(
        nodes=nodes,
        cost_reported=any(node.cost is not None for node in nodes),
        selected_span=context["detail"].obs.span_id if context["detail"] else span,
        events=[summarise_event(e) for e in events],
    )
    return _render(request, "traces/trace_detail.html", context)


def _selected_detail(trace: Trace, span_id: str) -> ObservationDetail | None:
    if "\x00" in span_id:
        return None
    obs = Observation.objects.filter(trace=trace, span_id=span_id).first()
    if obs is None:
        return None
    generation = obs.kind == ObservationKind.GENERATION
    return ObservationDetail(
        obs=obs,
        input=render_field(obs.input, "user" if generation else ""),
        output=render_field(obs.output, "assistant" if generation else ""),
    )
