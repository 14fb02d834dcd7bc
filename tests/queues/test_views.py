"""Queue pages: access (member / other project / anonymous), full pages and htmx fragments,
adding one trace and many, removing, deleting, and moving through a queue."""

from __future__ import annotations

import pytest
from django.urls import reverse

from queues import services
from queues.models import CloseReason, QueueItem, ReviewQueue
from tests.queues.factories import QueueItemFactory, ReviewQueueFactory
from tests.traces.factories import TraceFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def queue(project):
    return ReviewQueueFactory(project=project, name="Needs a look")


@pytest.fixture
def items(queue):
    return QueueItemFactory.create_batch(3, queue=queue)


def url(name, queue=None, *args, project=None):
    project = project or queue.project
    return reverse(f"queues:{name}", args=[project.slug, *([queue.pk] if queue else []), *args])


# --- access -------------------------------------------------------------------------------------

PAGES = ["list", "detail", "start", "done"]


@pytest.mark.parametrize("page", PAGES)
def test_member_can_open_queue_pages(client, viewer, queue, items, page):
    client.force_login(viewer)
    response = client.get(url(page, None if page == "list" else queue, project=queue.project))
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("page", PAGES)
def test_member_of_another_project_gets_404(client, outsider, queue, page):
    client.force_login(outsider)
    response = client.get(url(page, None if page == "list" else queue, project=queue.project))
    assert response.status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_is_sent_to_login(client, queue, page):
    response = client.get(url(page, None if page == "list" else queue, project=queue.project))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_queue_of_another_project_is_404_even_for_its_url_under_mine(
    reviewer_client, project, other_project
):
    theirs = ReviewQueueFactory(project=other_project)
    response = reviewer_client.get(reverse("queues:detail", args=[project.slug, theirs.pk]))
    assert response.status_code == 404


def test_deleted_queue_is_404(reviewer_client, queue):
    services.delete_queue(queue=queue)
    assert reviewer_client.get(url("detail", queue)).status_code == 404


# --- list ---------------------------------------------------------------------------------------


def test_list_shows_pending_count_and_oldest_age(
    reviewer_client, project, queue, items, django_assert_max_num_queries
):
    from datetime import timedelta

    from django.utils import timezone

    services.close_item_for_trace(trace=items[0].trace)
    # The oldest *pending* item counts: the closed one was older still.
    QueueItem.objects.filter(pk=items[0].pk).update(added_at=timezone.now() - timedelta(days=9))
    QueueItem.objects.filter(pk=items[1].pk).update(added_at=timezone.now() - timedelta(hours=3))
    for n in range(5):
        ReviewQueueFactory(project=project, name=f"Other {n}")
    # Session, user, membership (+ its visit stamp), project switcher, queues: not one per queue.
    with django_assert_max_num_queries(9):
        response = reviewer_client.get(url("list", project=project))
    html = response.content.decode()
    assert "Needs a look" in html
    assert 'data-pending="2"' in html
    assert "3\xa0hours ago" in html


def test_reviewer_creates_a_queue(reviewer_client, project):
    response = reviewer_client.post(url("list", project=project), {"name": "Tone", "description": "rude?"})
    queue = ReviewQueue.objects.get(project=project, name="Tone")
    assert response.status_code == 302
    assert response["Location"] == queue.get_absolute_url()


def test_duplicate_queue_name_is_refused_with_a_message(reviewer_client, project, queue):
    response = reviewer_client.post(url("list", project=project), {"name": "needs a LOOK"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert ReviewQueue.objects.count() == 1


def test_viewer_cannot_create_a_queue(client, viewer, project):
    client.force_login(viewer)
    assert client.post(url("list", project=project), {"name": "x"}).status_code == 403
    assert not ReviewQueue.objects.exists()


# --- queue page ---------------------------------------------------------------------------------


def test_queue_page_lists_pending_traces_oldest_first(reviewer_client, queue, items):
    services.remove_from_queue(item=items[1])
    html = reviewer_client.get(url("detail", queue)).content.decode()
    assert html.index(items[0].trace.trace_id) < html.index(items[2].trace.trace_id)
    assert items[1].trace.trace_id not in html
    assert "Start reviewing" in html


def test_queue_page_htmx_fragment_is_only_the_list(reviewer_client, queue, items):
    response = reviewer_client.get(url("detail", queue), **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="queue-items"')
    assert "<html" not in html
    assert items[0].trace.trace_id in html


def test_queue_page_paginates(reviewer_client, project, queue):
    from django.utils import timezone

    from traces.models import Trace

    traces = Trace.objects.bulk_create([Trace(project=project, trace_id=f"p-{n}") for n in range(120)])
    QueueItem.objects.bulk_create([QueueItem(queue=queue, trace=t, added_at=timezone.now()) for t in traces])
    first = reviewer_client.get(url("detail", queue)).content.decode()
    assert first.count('data-item="') == 50
    assert "Page 1 of 3" in first
    last = reviewer_client.get(url("detail", queue) + "?page=3").content.decode()
    assert last.count('data-item="') == 20
    assert "p-119" in last


def test_remove_from_queue_page(reviewer_client, queue, items):
    response = reviewer_client.post(url("remove", queue, items[0].pk), **HTMX)
    assert response.status_code == 200
    assert items[0].trace.trace_id not in response.content.decode()
    items[0].refresh_from_db()
    assert items[0].close_reason == CloseReason.REMOVED


def test_viewer_cannot_remove(client, viewer, queue, items):
    client.force_login(viewer)
    assert client.post(url("remove", queue, items[0].pk)).status_code == 403
    assert QueueItem.objects.pending().count() == 3


def test_outsider_cannot_remove(client, outsider, queue, items):
    client.force_login(outsider)
    assert client.post(url("remove", queue, items[0].pk)).status_code == 404


# --- delete -------------------------------------------------------------------------------------


def test_only_admins_delete_queues(reviewer_client, queue, items):
    assert reviewer_client.get(url("delete", queue)).status_code == 403
    assert reviewer_client.post(url("delete", queue)).status_code == 403


def test_admin_deletes_a_queue_after_confirming(admin_client_p, queue, items):
    confirm = admin_client_p.get(url("delete", queue))
    assert "3 pending traces will be removed" in confirm.content.decode()
    response = admin_client_p.post(url("delete", queue))
    assert response.status_code == 302
    queue.refresh_from_db()
    assert queue.deleted_at is not None
    assert not QueueItem.objects.pending().exists()


# --- moving through a queue -----------------------------------------------------------------------


def _trace_url(queue, item):
    from traces.links import trace_url

    return f"{trace_url(queue.project.slug, item.trace.trace_id)}?queue={queue.pk}"


def test_start_opens_the_first_pending_trace_and_claims_it(reviewer_client, reviewer, queue, items):
    response = reviewer_client.get(url("start", queue))
    assert response["Location"] == _trace_url(queue, items[0])
    items[0].refresh_from_db()
    assert items[0].claimed_by == reviewer


def test_next_after_a_just_reviewed_item(reviewer_client, queue, items):
    services.close_item_for_trace(trace=items[0].trace)
    response = reviewer_client.get(url("next", queue) + f"?after={items[0].pk}")
    assert response["Location"] == _trace_url(queue, items[1])
    # The same, anchored by the trace (what "Save & next" can send).
    response = reviewer_client.get(url("next", queue) + f"?trace={items[1].trace.pk}")
    assert response["Location"] == _trace_url(queue, items[2])


def test_next_skips_a_trace_claimed_by_someone_else(reviewer_client, admin_user, queue, items):
    services.claim(items[1], admin_user)
    response = reviewer_client.get(url("next", queue) + f"?after={items[0].pk}")
    assert response["Location"] == _trace_url(queue, items[2])


def test_next_with_nothing_left_shows_queue_done(reviewer_client, queue, items):
    for item in items:
        services.close_item_for_trace(trace=item.trace)
    response = reviewer_client.get(url("next", queue) + f"?after={items[2].pk}", follow=True)
    assert response.redirect_chain[-1][0] == url("done", queue)
    assert "Queue done" in response.content.decode()


def test_done_page_says_when_others_hold_the_rest(reviewer_client, admin_user, queue, items):
    for item in items:
        services.claim(item, admin_user)
    response = reviewer_client.get(url("start", queue), follow=True)
    html = response.content.decode()
    assert "Nothing left for you" in html
    assert "3 traces still pending" in html


def test_prev_goes_back_one(reviewer_client, queue, items):
    response = reviewer_client.get(url("prev", queue) + f"?before={items[2].pk}")
    assert response["Location"] == _trace_url(queue, items[1])


@pytest.mark.parametrize("query", ["", "?after=abc", "?after=-1", "?after=99999999999999999999999"])
def test_bad_anchors_never_500(reviewer_client, queue, items, query):
    assert reviewer_client.get(url("next", queue) + query).status_code == 302
    assert reviewer_client.get(url("prev", queue) + query.replace("after", "before")).status_code in (
        302,
        400,
    )


# --- add one trace ------------------------------------------------------------------------------


def test_add_a_trace_to_a_queue(reviewer_client, reviewer, project, queue):
    trace = TraceFactory(project=project)
    response = reviewer_client.post(
        url("add", project=project), {"trace": trace.pk, "queue": queue.pk}, **HTMX
    )
    assert response.status_code == 200
    assert "Added to" in response.content.decode()
    assert services.pending_item_for_trace(trace).queue == queue


def test_add_creates_a_queue_inline(reviewer_client, project):
    trace = TraceFactory(project=project)
    response = reviewer_client.post(url("add", project=project), {"trace": trace.pk, "new_name": "Fresh"})
    assert response.status_code == 302
    assert services.pending_item_for_trace(trace).queue.name == "Fresh"


def test_add_says_where_a_trace_is_pending_and_offers_to_move(reviewer_client, project, queue):
    trace = TraceFactory(project=project)
    other = ReviewQueueFactory(project=project, name="Elsewhere")
    services.enqueue_traces(queue=other, traces=[trace], user=None)
    response = reviewer_client.post(
        url("add", project=project), {"trace": trace.pk, "queue": queue.pk}, **HTMX
    )
    html = response.content.decode()
    assert "pending in “Elsewhere”" in html
    assert 'name="move"' in html
    response = reviewer_client.post(
        url("add", project=project), {"trace": trace.pk, "queue": queue.pk, "move": "1"}, **HTMX
    )
    assert "Moved to" in response.content.decode()
    assert services.pending_item_for_trace(trace).queue == queue


@pytest.mark.parametrize(
    "data",
    [{}, {"queue": "999999"}, {"queue": "x"}, {"new_name": "   "}],
)
def test_add_with_bad_input_is_a_4xx_with_a_message(reviewer_client, project, queue, data):
    trace = TraceFactory(project=project)
    response = reviewer_client.post(url("add", project=project), {"trace": trace.pk, **data}, **HTMX)
    assert response.status_code == 400
    assert not QueueItem.objects.exists()


def test_add_a_trace_of_another_project_is_404(reviewer_client, project, other_project, queue):
    trace = TraceFactory(project=other_project)
    response = reviewer_client.post(url("add", project=project), {"trace": trace.pk, "queue": queue.pk})
    assert response.status_code == 404


def test_add_into_a_queue_of_another_project_is_refused(reviewer_client, project, other_project):
    trace = TraceFactory(project=project)
    theirs = ReviewQueueFactory(project=other_project)
    response = reviewer_client.post(
        url("add", project=project), {"trace": trace.pk, "queue": theirs.pk}, **HTMX
    )
    assert response.status_code == 400
    assert not QueueItem.objects.exists()


def test_viewer_cannot_add(client, viewer, project, queue):
    client.force_login(viewer)
    trace = TraceFactory(project=project)
    assert client.post(url("add", project=project), {"trace": trace.pk, "queue": queue.pk}).status_code == 403


def test_outsider_cannot_add(client, outsider, project, queue):
    client.force_login(outsider)
    trace = TraceFactory(project=project)
    assert client.post(url("add", project=project), {"trace": trace.pk, "queue": queue.pk}).status_code == 404


# --- bulk add -----------------------------------------------------------------------------------


def test_bulk_add_selected_rows(reviewer_client, project, queue):
    traces = TraceFactory.create_batch(4, project=project)
    data = {"trace": [t.pk for t in traces[:3]], "queue": queue.pk}
    response = reviewer_client.post(url("bulk_add", project=project), data, **HTMX)
    assert response.status_code == 200
    assert "3 added" in response.content.decode()
    assert services.pending_count(queue) == 3


def test_bulk_add_all_matching_honours_the_filters_exactly(reviewer_client, project, queue):
    matching = [TraceFactory(project=project, name=f"refund-{n}") for n in range(3)]
    TraceFactory.create_batch(2, project=project, name="greeting")
    data = {"all": "1", "filters": "q=refund&after=zzz", "queue": queue.pk}
    response = reviewer_client.post(url("bulk_add", project=project), data)
    assert response.status_code == 302
    assert set(QueueItem.objects.values_list("trace_id", flat=True)) == {t.pk for t in matching}


def test_bulk_add_reports_each_outcome(reviewer_client, project, queue):
    other = ReviewQueueFactory(project=project, name="Other")
    a, b, c = TraceFactory.create_batch(3, project=project)
    services.enqueue_traces(queue=queue, traces=[a], user=None)
    services.enqueue_traces(queue=other, traces=[b], user=None)
    data = {"trace": [a.pk, b.pk, c.pk], "queue": queue.pk}
    html = reviewer_client.post(url("bulk_add", project=project), data, **HTMX).content.decode()
    assert "1 added" in html and "1 already in this queue" in html and "1 pending in “Other”" in html


def test_bulk_add_with_nothing_selected_is_400(reviewer_client, project, queue):
    response = reviewer_client.post(url("bulk_add", project=project), {"queue": queue.pk}, **HTMX)
    assert response.status_code == 400
    assert "Select at least one" in response.content.decode()


def test_bulk_add_with_invalid_filters_is_400(reviewer_client, project, queue):
    TraceFactory(project=project)
    data = {"all": "1", "filters": "min_cost=abc", "queue": queue.pk}
    response = reviewer_client.post(url("bulk_add", project=project), data, **HTMX)
    assert response.status_code == 400
    assert not QueueItem.objects.exists()


def test_bulk_add_ignores_other_projects_traces(reviewer_client, project, other_project, queue):
    theirs = TraceFactory(project=other_project)
    response = reviewer_client.post(
        url("bulk_add", project=project), {"trace": [theirs.pk], "queue": queue.pk}, **HTMX
    )
    assert response.status_code == 400
    assert "None of the selected traces exist in this project." in response.content.decode()
    assert not QueueItem.objects.exists()


def test_viewer_cannot_bulk_add(client, viewer, project, queue):
    client.force_login(viewer)
    trace = TraceFactory(project=project)
    assert (
        client.post(url("bulk_add", project=project), {"trace": [trace.pk], "queue": queue.pk}).status_code
        == 403
    )


@pytest.mark.parametrize("trace", ["", "abc", "-1", "9" * 30])
def test_add_with_a_bad_trace_is_404(reviewer_client, project, queue, trace):
    response = reviewer_client.post(url("add", project=project), {"trace": trace, "queue": queue.pk})
    assert response.status_code == 404


@pytest.mark.parametrize("trace", ["abc", "9" * 30])
def test_bulk_add_with_bad_trace_values_is_400(reviewer_client, project, queue, trace):
    response = reviewer_client.post(
        url("bulk_add", project=project), {"trace": [trace], "queue": queue.pk}, **HTMX
    )
    assert response.status_code == 400


def test_bulk_add_all_with_no_filters_adds_every_trace_of_the_project(
    reviewer_client, project, other_project, queue
):
    TraceFactory.create_batch(3, project=project)
    TraceFactory(project=other_project)
    response = reviewer_client.post(
        url("bulk_add", project=project), {"all": "1", "filters": "", "queue": queue.pk}
    )
    assert response.status_code == 302
    assert services.pending_count(queue) == 3


# --- bad input (breaker findings 5, 7, 14) -------------------------------------------------------

# "²" passes str.isdigit() but not int(); "٣" passes int(); neither is a number in a URL or form.
NOT_ASCII_NUMBERS = ["²", "٣", "１", " 1", "+1", "1_0", "9" * 30]


@pytest.mark.parametrize("raw", NOT_ASCII_NUMBERS)
def test_next_and_prev_with_junk_numbers_are_not_500(reviewer_client, queue, items, raw):
    for name, param in (("next", "trace"), ("next", "after"), ("prev", "before")):
        response = reviewer_client.get(url(name, queue), {param: raw})
        assert response.status_code in (302, 400), (name, param, response.status_code)


SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹"


def spelled(number: int, script: str) -> str:
    """`number` written in another script's digits, or padded/signed: never an id here."""
    text = str(number)
    if script == "superscript":
        return "".join(SUPERSCRIPT[int(d)] for d in text)
    if script == "arabic-indic":
        return "".join(chr(0x0660 + int(d)) for d in text)
    if script == "fullwidth":
        return "".join(chr(0xFF10 + int(d)) for d in text)
    return {"space": f" {text}", "plus": f"+{text}", "underscore": f"{text}_", "huge": "9" * 30}[script]


SCRIPTS = ["superscript", "arabic-indic", "fullwidth", "space", "plus", "underscore", "huge"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_add_with_a_non_ascii_trace_number_is_404(reviewer_client, project, queue, script):
    trace = TraceFactory(project=project)
    raw = spelled(trace.pk, script)
    response = reviewer_client.post(url("add", project=project), {"trace": raw, "queue": queue.pk})
    assert response.status_code == 404
    assert not QueueItem.objects.exists()


@pytest.mark.parametrize("raw", ["²", "٣"])
def test_bulk_add_with_non_ascii_trace_numbers_is_400(reviewer_client, project, queue, raw):
    TraceFactory.create_batch(3, project=project)
    response = reviewer_client.post(
        url("bulk_add", project=project), {"trace": [raw], "queue": queue.pk}, **HTMX
    )
    assert response.status_code == 400
    assert not QueueItem.objects.exists()


@pytest.mark.parametrize("script", SCRIPTS)
def test_trace_page_with_a_junk_queue_param_says_the_queue_is_missing(reviewer_client, project, script):
    trace = TraceFactory(project=project)
    queue = ReviewQueueFactory(project=project)
    services.enqueue_traces(queue=queue, traces=[trace], user=None)
    response = reviewer_client.get(trace.get_absolute_url(), {"queue": spelled(queue.pk, script)})
    assert response.status_code == 200
    # Not read as the queue: no claim taken, no queue context shown.
    assert not QueueItem.objects.filter(claimed_by__isnull=False).exists()
    assert "This queue does not exist (any more)." in response.content.decode()


def test_bulk_add_all_matching_nothing_creates_no_queue(reviewer_client, project):
    TraceFactory(project=project, name="greeting")
    data = {"all": "1", "filters": "q=no-such-trace", "new_name": "Empty"}
    response = reviewer_client.post(url("bulk_add", project=project), data, **HTMX)
    assert response.status_code == 400
    assert "No traces match these filters." in response.content.decode()
    assert not ReviewQueue.objects.filter(name="Empty").exists()
    # Without htmx the same refusal comes back as a message on the traces list.
    response = reviewer_client.post(url("bulk_add", project=project), data, follow=True)
    assert "No traces match these filters." in response.content.decode()
    assert not ReviewQueue.objects.filter(name="Empty").exists()


def test_bulk_add_of_other_projects_traces_into_a_new_queue_creates_nothing(
    reviewer_client, project, other_project
):
    theirs = TraceFactory(project=other_project)
    data = {"trace": [theirs.pk], "new_name": "Empty"}
    response = reviewer_client.post(url("bulk_add", project=project), data, **HTMX)
    assert response.status_code == 400
    assert not ReviewQueue.objects.filter(name="Empty").exists()


@pytest.mark.parametrize("page", ["start", "next", "open", "trace"])
def test_a_viewer_browses_a_queue_without_claiming(client, viewer, reviewer, queue, items, page):
    client.force_login(viewer)
    if page == "open":
        response = client.get(url("open", queue, items[1].pk))
    elif page == "trace":
        response = client.get(items[1].trace.get_absolute_url(), {"queue": queue.pk})
    else:
        response = client.get(url(page, queue))
    assert response.status_code in (200, 302)
    assert not QueueItem.objects.filter(claimed_by__isnull=False).exists()
    # A reviewer's Start still gets the first trace: the viewer held nothing back.
    client.force_login(reviewer)
    response = client.get(url("start", queue))
    items[0].refresh_from_db()
    assert items[0].claimed_by == reviewer
    assert response["Location"].endswith(f"?queue={queue.pk}")


def test_a_viewer_can_step_back_without_claiming(client, viewer, queue, items):
    client.force_login(viewer)
    response = client.get(url("prev", queue), {"before": items[2].pk})
    assert response.status_code == 302
    assert not QueueItem.objects.filter(claimed_by__isnull=False).exists()
