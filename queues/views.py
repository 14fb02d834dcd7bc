"""Queue pages (SPEC §5): the queues list, a queue's pending traces, adding traces (one from the
trace page, many from the traces list), and the redirects that move a reviewer through a queue
(start, next, previous, open) while claiming the trace they land on.

Claims are taken on these GETs (they are links and j/k keys, and a claim is a short, expiring,
per-user hint, not data), but only for users who can review: a viewer moves through a queue
read-only and never holds a trace back from the reviewers."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event
from django_htmx.middleware import HtmxDetails

from projects.access import get_project_access
from projects.models import Project, Role
from queues import services
from queues.forms import AddToQueueForm, BulkAddForm, QueueForm
from queues.models import QueueItem, ReviewQueue
from queues.templatetags.queues import add_to_queue_context
from tracereview.params import int_param
from traces.filters import TraceFilter
from traces.links import trace_url
from traces.models import Trace

PAGE_SIZE = 50


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _render(
    request: HttpRequest, template: str, context: dict, fragment: str | None = None, status: int = 200
):
    name = f"{template}#{fragment}" if fragment and getattr(request, "htmx", False) else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _queue_or_404(project: Project, queue_id: int) -> ReviewQueue:
    return get_object_or_404(ReviewQueue.objects.active().for_project(project), pk=queue_id)


def in_queue_url(project: Project, trace: Trace, queue: ReviewQueue | int) -> str:
    """The trace page in queue context."""
    queue_id = queue if isinstance(queue, int) else queue.pk
    return f"{trace_url(project.slug, trace.trace_id)}?{urlencode({'queue': queue_id})}"


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


# --- pages ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def queue_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    access = get_project_access(request, slug, Role.REVIEWER if request.method == "POST" else Role.VIEWER)
    project = access.project
    form = QueueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            queue = services.create_queue(
                project=project,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                user=request.user,
            )
        except services.QueueError as error:
            form.add_error("name", str(error))
        else:
            messages.success(request, f"Queue “{queue.name}” created.")
            return redirect(queue.get_absolute_url())
    queues = (
        ReviewQueue.objects.active()
        .for_project(project)
        .with_pending_stats()
        .select_related("created_by", "project")
        .order_by("name", "id")
    )
    context = {"nav": "queues", "queues": queues, "form": form}
    return _render(request, "queues/queue_list.html", context, status=400 if form.errors else 200)


@login_required
def queue_detail(request: HtmxHttpRequest, slug: str, queue_id: int) -> HttpResponse:
    access = get_project_access(request, slug)
    queue = _queue_or_404(access.project, queue_id)
    items = (
        QueueItem.objects.pending()
        .filter(queue=queue)
        .in_order()
        .select_related("trace", "added_by", "claimed_by")
    )
    page = Paginator(items, PAGE_SIZE).get_page(int_param(request.GET, "page") or 1)
    context = {"nav": "queues", "queue": queue, "page": page, "offset": page.start_index() - 1}
    return _render(request, "queues/queue_detail.html", context, fragment="items")


@login_required
@require_http_methods(["GET", "POST"])
def queue_delete(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    access = get_project_access(request, slug, Role.ADMIN)
    queue = _queue_or_404(access.project, queue_id)
    if request.method == "POST":
        closed = services.delete_queue(queue=queue, by=request.user)
        messages.success(request, f"Queue “{queue.name}” deleted; {closed} pending trace(s) removed from it.")
        return redirect("queues:list", access.project.slug)
    context = {"nav": "queues", "queue": queue, "pending": services.pending_count(queue)}
    return render(request, "queues/queue_delete.html", context)


@login_required
def queue_done(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    access = get_project_access(request, slug)
    queue = _queue_or_404(access.project, queue_id)
    pending = services.pending_count(queue)
    context = {"nav": "queues", "queue": queue, "pending": pending}
    return render(request, "queues/queue_done.html", context)


# --- moving through a queue ----------------------------------------------------------------------


def _go_to(project: Project, queue: ReviewQueue, item: QueueItem | None) -> HttpResponse:
    if item is None:
        return redirect("queues:done", project.slug, queue.pk)
    return redirect(in_queue_url(project, item.trace, queue))


@login_required
def queue_start(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    """ "Start reviewing": the first pending trace nobody else holds, claimed."""
    access = get_project_access(request, slug)
    queue = _queue_or_404(access.project, queue_id)
    item = services.claim_next(queue=queue, user=request.user, claiming=access.can_review)
    return _go_to(access.project, queue, item)


@login_required
def queue_next(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    """Next pending trace after `?after=<item id>` (or after `?trace=<trace pk>`'s latest item).

    This is where "Save & next" lands: the anchor may have just been closed by the review."""
    access = get_project_access(request, slug)
    queue = _queue_or_404(access.project, queue_id)
    after = int_param(request.GET, "after")
    trace_pk = int_param(request.GET, "trace")
    if after is None and trace_pk is not None:
        anchor = QueueItem.objects.filter(queue=queue, trace_id=trace_pk).order_by("-id").first()
        after = anchor.pk if anchor else None
    item = services.claim_next(queue=queue, user=request.user, after=after, claiming=access.can_review)
    return _go_to(access.project, queue, item)


@login_required
def queue_prev(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    access = get_project_access(request, slug)
    queue = _queue_or_404(access.project, queue_id)
    before = int_param(request.GET, "before")
    if before is None:
        return HttpResponseBadRequest("Previous needs ?before=<item id>.")
    item = services.claim_previous(queue=queue, user=request.user, before=before, claiming=access.can_review)
    if item is None:  # already at the first pending trace: stay on the current one
        current = QueueItem.objects.filter(queue=queue, pk=before).select_related("trace").first()
        if current is None:
            return redirect(queue.get_absolute_url())
        messages.info(request, "This is the first pending trace of the queue.")
        return redirect(in_queue_url(access.project, current.trace, queue))
    return redirect(in_queue_url(access.project, item.trace, queue))


@login_required
def item_open(request: HttpRequest, slug: str, queue_id: int, item_id: int) -> HttpResponse:
    """Open one item from the queue page: claimed if free (else the trace page says who has it)."""
    access = get_project_access(request, slug)
    queue = _queue_or_404(access.project, queue_id)
    item = get_object_or_404(QueueItem.objects.filter(queue=queue).select_related("trace"), pk=item_id)
    if item.is_pending and access.can_review:  # viewers browse read-only: they never claim
        services.claim(item, request.user)
    return redirect(in_queue_url(access.project, item.trace, queue))


@login_required
@require_POST
def item_remove(request: HtmxHttpRequest, slug: str, queue_id: int, item_id: int) -> HttpResponse:
    access = get_project_access(request, slug, Role.REVIEWER)
    queue = _queue_or_404(access.project, queue_id)
    item = get_object_or_404(QueueItem.objects.filter(queue=queue).select_related("trace"), pk=item_id)
    removed = services.remove_from_queue(item=item, by=request.user)
    if not request.htmx:
        if removed:
            messages.success(request, f"Removed “{item.trace}” from {queue.name}.")
        return redirect(_safe_next(request, queue.get_absolute_url()))
    # htmx from the queue page: re-render the list in place.
    page = Paginator(
        QueueItem.objects.pending()
        .filter(queue=queue)
        .in_order()
        .select_related("trace", "added_by", "claimed_by"),
        PAGE_SIZE,
    ).get_page(int_param(request.POST, "page") or 1)
    context = {"queue": queue, "page": page, "offset": page.start_index() - 1, "project": access.project}
    return render(request, "queues/queue_detail.html#items", context)


# --- adding --------------------------------------------------------------------------------------


def _target_queue(form: AddToQueueForm, project: Project, user) -> ReviewQueue:
    queue = form.cleaned_data.get("queue")
    if queue is None:
        queue = services.create_queue(project=project, name=form.cleaned_data["new_name"], user=user)
    return queue


@login_required
@require_POST
def add_trace(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The trace page's "Add to queue" dialog: one trace, into a chosen or a new queue."""
    access = get_project_access(request, slug, Role.REVIEWER)
    project = access.project
    trace = get_object_or_404(Trace.objects.for_project(project), pk=int_param(request.POST, "trace") or 0)
    form = AddToQueueForm(request.POST, project=project)
    result = error = None
    queue = None
    if form.is_valid():
        try:
            with transaction.atomic():
                queue = _target_queue(form, project, request.user)
                result = services.enqueue_trace(
                    queue=queue, trace=trace, user=request.user, move=form.cleaned_data["move"]
                )
        except services.QueueError as exc:
            error = str(exc)
    else:
        error = " ".join(form.non_field_errors()) or " ".join(
            e for errs in form.errors.values() for e in errs
        )
    if not request.htmx:
        if error:
            messages.error(request, error)
        elif result is not None:
            messages.success(request, _single_message(result, queue))
        return redirect(_safe_next(request, trace_url(project.slug, trace.trace_id)))
    context = add_to_queue_context(request, trace, project=project, access=access)
    context.update(
        result=result,
        error=error,
        result_queue=queue,
        result_message=result and _single_message(result, queue),
    )
    return render(request, "queues/add_to_queue.html#dialog", context, status=400 if error else 200)


def _single_message(result: services.EnqueueResult, queue: ReviewQueue | None) -> str:
    name = queue.name if queue else "the queue"
    if result.added and result.moved:
        return f"Moved to “{name}”."
    if result.added:
        return f"Added to “{name}”."
    if result.already_there:
        return f"Already pending in “{name}”."
    if result.pending_elsewhere:
        holder = next(iter(result.pending_elsewhere))
        return f"Not added: this trace is pending in “{holder.name}”. Move it to “{name}”?"
    if result.refused_reviewed:
        return "Not added: this trace already has a review."
    return "Nothing to add."


@login_required
@require_POST
def bulk_add(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Add the selected rows of the traces list, or all traces matching its filters, to a queue.

    "All matching" re-runs the traces list's own FilterSet on the submitted querystring, so the
    traces added are exactly the ones the list shows for those filters.
    """
    access = get_project_access(request, slug, Role.REVIEWER)
    project = access.project
    form = BulkAddForm(request.POST, project=project)
    list_url = reverse("traces:list", args=[project.slug])
    filters = QueryDict(request.POST.get("filters", ""))
    back = f"{list_url}?{filters.urlencode()}" if filters else list_url
    if not form.is_valid():
        error = " ".join(form.non_field_errors()) or " ".join(
            e for errs in form.errors.values() for e in errs
        )
        return _bulk_response(request, back, error=error)
    if form.cleaned_data["all"]:
        # Paging cursors are not filters: "all matching" means every page.
        filters = filters.copy()
        for key in ("after", "before", "page"):
            filters.pop(key, None)
        filterset = TraceFilter(filters or None, queryset=Trace.objects.for_project(project), project=project)
        if filterset.is_bound and not filterset.form.is_valid():
            return _bulk_response(request, back, error="The filters are not valid; fix them and try again.")
        traces = filterset.qs
        if not traces.exists():
            # Before any write: a new queue must not be created for nothing.
            return _bulk_response(request, back, error="No traces match these filters.")
    else:
        traces = form.cleaned_data["trace"]
        if not Trace.objects.for_project(project).filter(pk__in=traces).exists():
            return _bulk_response(request, back, error="None of the selected traces exist in this project.")
    try:
        with transaction.atomic():
            queue = _target_queue(form, project, request.user)
            result = services.enqueue_traces(
                queue=queue, traces=traces, user=request.user, move=form.cleaned_data["move"]
            )
    except services.QueueError as exc:
        return _bulk_response(request, back, error=str(exc))
    return _bulk_response(request, back, result=result, queue=queue)


def _bulk_response(
    request: HtmxHttpRequest, back: str, *, error=None, result=None, queue=None
) -> HttpResponse:
    if request.htmx:
        context = {"error": error, "result": result, "queue": queue}
        response = render(request, "queues/bulk_result.html", context, status=400 if error else 200)
        if not error:
            # The traces list re-fetches its results (queue badges, cleared selection and form).
            trigger_client_event(response, "traces-queued", after="settle")
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Queue “{queue.name}”: {result.summary()}")
    return redirect(back)
