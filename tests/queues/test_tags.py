"""The queue pieces of the trace page (inclusion tags): queue bar with position, neighbours and
claims; add-to-queue dialog; the traces list's bulk-add bar and queue column."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from projects.access import ProjectAccess
from projects.models import Role
from queues import services
from queues.models import QueueItem
from tests.queues.factories import QueueItemFactory, ReviewQueueFactory
from tests.traces.factories import TraceFactory

pytestmark = pytest.mark.django_db


def render(source: str, *, user, project, query: str = "", role=Role.REVIEWER, **context) -> str:
    request = RequestFactory().get(f"/p/{project.slug}/traces/x/{query}")
    request.user = user
    request.project_access = ProjectAccess(project, role)
    return Template("{% load queues %}" + source).render(
        Context({"request": request, "project": project, "csrf_token": "tok", **context})
    )


@pytest.fixture
def queue(project):
    return ReviewQueueFactory(project=project, name="Check <tone>")


@pytest.fixture
def items(queue):
    return QueueItemFactory.create_batch(5, queue=queue)


def bar(item_or_trace, queue, user, project):
    trace = getattr(item_or_trace, "trace", item_or_trace)
    return render(
        "{% queue_bar trace %}", user=user, project=project, query=f"?queue={queue.pk}", trace=trace
    )


def test_no_bar_without_queue_context(project, reviewer, items):
    html = render("{% queue_bar trace %}", user=reviewer, project=project, trace=items[0].trace)
    assert "queue-bar" not in html


def test_bar_shows_position_back_previous_and_next(project, reviewer, queue, items):
    html = bar(items[2], queue, reviewer, project)
    assert "3 of 5 pending" in html
    assert "Check &lt;tone&gt;" in html  # escaped
    assert f"/queues/{queue.pk}/next/?after={items[2].pk}" in html
    assert f"/queues/{queue.pk}/prev/?before={items[2].pk}" in html
    assert queue.get_absolute_url() in html


def test_opening_a_trace_in_queue_context_claims_it(project, reviewer, queue, items):
    bar(items[1], queue, reviewer, project)
    items[1].refresh_from_db()
    assert items[1].claimed_by == reviewer
    assert items[1].claim_expires_at > timezone.now() + timedelta(minutes=4)


def test_opening_a_trace_someone_else_holds_says_who(project, reviewer, admin_user, queue, items):
    services.claim(items[1], admin_user)
    QueueItem.objects.filter(pk=items[1].pk).update(claimed_at=timezone.now() - timedelta(minutes=2))
    html = bar(items[1], queue, reviewer, project)
    assert f"{admin_user.username} is reviewing this (claimed 2\xa0minutes ago)" in html
    items[1].refresh_from_db()
    assert items[1].claimed_by == admin_user  # not stolen


def test_bar_after_the_trace_was_reviewed_keeps_next_working(project, reviewer, queue, items):
    services.close_item_for_trace(trace=items[2].trace)
    html = bar(items[2], queue, reviewer, project)
    assert "4 pending" in html
    assert f"next/?after={items[2].pk}" in html


def test_bar_for_an_unknown_or_foreign_queue(project, other_project, reviewer, items):
    foreign = ReviewQueueFactory(project=other_project)
    for q in ("?queue=999999", f"?queue={foreign.pk}", "?queue=abc"):
        html = render("{% queue_bar trace %}", user=reviewer, project=project, query=q, trace=items[0].trace)
        assert "does not exist" in html


def test_bar_runs_a_constant_number_of_queries(
    project, reviewer, queue, items, django_assert_max_num_queries
):
    QueueItemFactory.create_batch(20, queue=queue)
    # queue, anchor, claim (savepoint, lock, update, release), previous, next, position.
    with django_assert_max_num_queries(9):
        bar(items[2], queue, reviewer, project)


def test_add_to_queue_shows_where_the_trace_is_pending(project, reviewer, queue, items):
    html = render("{% add_to_queue trace %}", user=reviewer, project=project, trace=items[0].trace)
    assert "Pending in" in html and "Check &lt;tone&gt;" in html
    assert "Remove from queue" in html
    assert 'name="new_name"' in html


def test_viewers_see_no_add_form(project, viewer, queue, items):
    html = render(
        "{% add_to_queue trace %}", user=viewer, project=project, trace=items[0].trace, role=Role.VIEWER
    )
    assert "Pending in" in html
    assert "<form" not in html


def test_bulk_bar_carries_the_filters_without_cursors(project, reviewer, queue):
    request_html = render(
        "{% bulk_add_bar 12 %}", user=reviewer, project=project, query="?q=refund&model=gpt-4o&after=123_4"
    )
    assert 'name="filters" value="q=refund&amp;model=gpt-4o"' in request_html
    assert "Add all 12 matching" in request_html


def test_pending_queues_for_a_page_in_one_query(project, reviewer, queue, items, django_assert_num_queries):
    free = TraceFactory(project=project)
    traces = [i.trace for i in items] + [free]
    with django_assert_num_queries(1):
        html = render(
            "{% pending_queues traces as pq %}{% for t in traces %}[{{ pq|queue_for:t|default:'-' }}]{% endfor %}",
            user=reviewer,
            project=project,
            traces=traces,
        )
    assert html.count("[Check &lt;tone&gt;]") == 5
    assert html.endswith("[-]")
