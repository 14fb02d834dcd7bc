"""Review pages: the review panel's actions (SPEC §4) and the saved reviews list (SPEC §4.1).

The panel lives on the trace page (`{% review_panel trace %}`); its buttons talk to the views
below. htmx requests get the panel fragment back; without JavaScript the same URLs render a small
page of their own and redirect to the trace page after a successful save or delete.
Everyone in the project reads; reviewers and admins write (403 for viewers).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from projects.access import ProjectAccess, get_project_access
from projects.models import Role
from queues.models import ReviewQueue
from reviews import export
from reviews.filters import ReviewFilter
from reviews.forms import ReviewEditor
from reviews.models import Review
from reviews.panel import active_review, panel_context
from reviews.services import ReviewConflict, delete_review, save_review
from tracereview.params import INT_MAX, int_param, parse_int
from traces.models import Trace

PANEL_TEMPLATE = "reviews/review_panel.html"
PAGE_TEMPLATE = "reviews/review_page.html"
LIST_TEMPLATE = "reviews/review_list.html"
PAGE_SIZE = 50
QUEUE_GONE = (
    "The queue this trace was opened from does not exist (any more) in this project, so the review "
    "was not saved. Save again to save it without moving on in a queue."
)


def _trace(access: ProjectAccess, trace_id: str) -> Trace:
    if "\x00" in trace_id:  # PostgreSQL refuses NUL in a query parameter; no trace id holds one
        raise Http404
    return get_object_or_404(Trace.objects.for_project(access.project), trace_id=trace_id)


def _posted_queue(access: ProjectAccess, raw: str) -> ReviewQueue | None:
    """The active queue of this project that the posted `queue` names, or None."""
    queue_id = parse_int(raw)
    if queue_id is None:
        return None
    return ReviewQueue.objects.active().for_project(access.project).filter(pk=queue_id).first()


def _render_panel(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    if request.htmx:
        # htmx swaps 2xx responses only: errors and conflicts come back as 200 to be shown in place.
        response = render(request, f"{PANEL_TEMPLATE}#panel", context)
    else:
        response = render(request, PAGE_TEMPLATE, {"nav": "traces", **context}, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_http_methods(["GET", "POST"])
def review_panel(request: HttpRequest, slug: str, trace_id: str) -> HttpResponse:
    """GET: the panel (`?mode=edit` the form, `?mode=history` the revisions). POST: save, or add/
    remove a scorer on the form without saving."""
    access = get_project_access(request, slug, Role.REVIEWER if request.method == "POST" else Role.VIEWER)
    trace = _trace(access, trace_id)
    if request.method == "GET":
        mode = request.GET.get("mode", "view")
        if mode == "edit" and not access.can_review:
            raise PermissionDenied("Reviewing needs the reviewer role.")
        queue = request.GET.get("queue")
        return _render_panel(request, panel_context(access=access, trace=trace, mode=mode, queue=queue))

    review = active_review(trace)
    editor = ReviewEditor(trace=trace, review=review, data=request.POST)
    queue = request.POST.get("queue")
    context = {
        "access": access,
        "trace": trace,
        "mode": "edit",
        "review": review,
        "editor": editor,
        "queue": queue,
    }
    if editor.is_action:
        return _render_panel(request, panel_context(**context))
    if not editor.form.is_valid():
        return _render_panel(request, panel_context(**context), status=400)
    in_queue = None
    if queue:
        # Checked before saving (SPEC §8): an unknown queue must not leave a saved review behind
        # a 404 on "next". The form comes back without the queue, so saving again saves plainly.
        in_queue = _posted_queue(access, queue)
        if in_queue is None:
            editor.form.add_error(None, QUEUE_GONE)
            context["queue"] = None
            return _render_panel(request, panel_context(**context), status=400)
    try:
        saved = save_review(
            trace=trace,
            user=request.user,
            reasoning=editor.form.cleaned_data["reasoning"],
            scores=editor.scores(),
            base_revision=editor.form.cleaned_data["base_revision"],
        )
    except ValidationError as e:
        editor.add_errors(e.message_dict if hasattr(e, "error_dict") else {None: e.messages})
        return _render_panel(request, panel_context(**context), status=400)
    except ReviewConflict as conflict:
        # Keep the input; adopt the latest revision as base so a second save replaces it knowingly.
        data = request.POST.copy()
        data["base_revision"] = conflict.revision or ""
        editor = ReviewEditor(trace=trace, review=conflict.review, data=data)
        context.update(editor=editor, review=conflict.review, conflict=conflict)
        return _render_panel(request, panel_context(**context), status=409)

    if in_queue is not None:
        # Save & next: the queue's next pending trace (the queues app skips claimed ones).
        messages.success(request, "Review saved.")
        url = reverse("queues:next", args=[slug, in_queue.pk]) + f"?trace={trace.pk}"
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if not request.htmx:
        messages.success(request, "Review saved.")
        return redirect(trace)
    response = _render_panel(request, panel_context(access=access, trace=trace, review=active_review(trace)))
    return trigger_client_event(response, "review-saved", {"trace": trace.trace_id, "review": saved.pk})


@login_required
@require_http_methods(["GET", "POST"])
def review_delete(request: HttpRequest, slug: str, trace_id: str) -> HttpResponse:
    """GET: the confirmation. POST: soft-delete the active review (it stays in the history)."""
    access = get_project_access(request, slug, Role.REVIEWER)
    trace = _trace(access, trace_id)
    review = active_review(trace)
    if request.method == "GET":
        return _render_panel(request, panel_context(access=access, trace=trace, mode="delete", review=review))
    # Junk is no revision: delete_review then answers that the form is out of date.
    base = int_param(request.POST, "base_revision", min_value=1, max_value=INT_MAX)
    if review is None:
        messages.info(request, "This trace has no review to delete.")
    else:
        try:
            delete_review(review=review, user=request.user, base_revision=base)
        except ReviewConflict as conflict:
            context = panel_context(access=access, trace=trace, mode="view", conflict=conflict)
            return _render_panel(request, context, status=409)
    if not request.htmx:
        if review is not None:
            messages.success(request, "Review deleted. It is kept in the history.")
        return redirect(trace)
    response = _render_panel(
        request, panel_context(access=access, trace=trace, review=None, load_review=False)
    )
    return trigger_client_event(response, "review-deleted", {"trace": trace.trace_id})


# -- saved reviews list -------------------------------------------------------------------------


def _filtered(request: HttpRequest, access: ProjectAccess) -> ReviewFilter:
    reviews = Review.objects.for_project(access.project).active().for_list()
    return ReviewFilter(request.GET or None, queryset=reviews, project=access.project)


@login_required
def review_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_project_access(request, slug)
    review_filter = _filtered(request, access)
    page = Paginator(review_filter.qs, PAGE_SIZE).get_page(int_param(request.GET, "page") or 1)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "nav": "reviews",
        "filter": review_filter,
        "page": page,
        "query": query.urlencode(),
        "value_scorer": review_filter.value_scorer,
    }
    if request.htmx and not request.htmx.history_restore_request:
        template = f"{LIST_TEMPLATE}#results"
        # The value controls depend on the chosen scorer: swap them too (out of band). htmx names
        # the form, not the changed field, as the trigger, so this is done on every update; htmx
        # keeps the focus on an input with the same id.
        context["oob_value_filter"] = True
    else:
        template = LIST_TEMPLATE
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def review_export(request: HttpRequest, slug: str, fmt: str) -> StreamingHttpResponse:
    """The filtered list as CSV or JSONL, streamed in chunks: constant memory at any size."""
    access = get_project_access(request, slug)
    review_filter = _filtered(request, access)
    return export.stream(access.project, review_filter.qs, fmt)
