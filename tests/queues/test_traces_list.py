"""The queues pieces of the traces list: the "pending in queue X / in no queue" filter (through
the Trace.queue_items relation), the queue column, and bulk add honouring those filters."""

from __future__ import annotations

import pytest
from django.urls import reverse

from queues import services
from queues.models import QueueItem
from tests.queues.factories import ReviewQueueFactory
from tests.traces.factories import TraceFactory
from traces.filters import TraceFilter
from traces.models import Trace

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(project):
    first = ReviewQueueFactory(project=project, name="First")
    second = ReviewQueueFactory(project=project, name="Second")
    a, b, c, d = (TraceFactory(project=project, trace_id=f"t-{x}") for x in "abcd")
    services.enqueue_traces(queue=first, traces=[a, b], user=None)
    services.enqueue_traces(queue=second, traces=[c], user=None)
    # d was in First and left it: it is in no queue now.
    services.enqueue_traces(queue=first, traces=[d], user=None)
    services.close_item_for_trace(trace=d)
    return first, second


def filtered(project, **data) -> set[str]:
    fs = TraceFilter(data, queryset=Trace.objects.for_project(project), project=project)
    assert fs.is_valid(), fs.errors
    return set(fs.qs.values_list("trace_id", flat=True))


def test_queue_filter(project, setup):
    first, second = setup
    assert filtered(project, queue=str(first.pk)) == {"t-a", "t-b"}
    assert filtered(project, queue=str(second.pk)) == {"t-c"}
    assert filtered(project, queue="any") == {"t-a", "t-b", "t-c"}
    assert filtered(project, queue="none") == {"t-d"}


def test_queue_filter_refuses_unknown_and_deleted_queues(project, other_project, setup):
    first, _ = setup
    theirs = ReviewQueueFactory(project=other_project)
    services.delete_queue(queue=first)
    for value in (str(theirs.pk), str(first.pk), "abc"):
        fs = TraceFilter({"queue": value}, queryset=Trace.objects.for_project(project), project=project)
        assert not fs.is_valid()


def test_traces_list_shows_the_queue_column_and_filter(reviewer_client, project, setup):
    first, _ = setup
    url = reverse("traces:list", args=[project.slug])
    html = reviewer_client.get(url, {"queue": first.pk}).content.decode()
    assert "Pending in First" in html  # the filter's option
    assert 'class="badge queue"' in html
    assert "t-a" in html and "t-c" not in html
    assert 'form="bulk-add"' in html


def test_bulk_add_all_matching_a_queue_filter_moves_exactly_those(reviewer_client, project, setup):
    first, second = setup
    data = {"all": "1", "filters": f"queue={first.pk}", "queue": second.pk, "move": "1"}
    response = reviewer_client.post(reverse("queues:bulk_add", args=[project.slug]), data)
    assert response.status_code == 302
    assert set(
        QueueItem.objects.pending().filter(queue=second).values_list("trace__trace_id", flat=True)
    ) == {"t-a", "t-b", "t-c"}
    assert not QueueItem.objects.pending().filter(queue=first).exists()
