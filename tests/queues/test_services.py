"""Queue services: enqueue, close, remove, claims, neighbours and position (SPEC §5)."""

from __future__ import annotations

import pytest

from queues import services
from queues.models import CloseReason, QueueItem
from tests.queues.factories import QueueItemFactory, ReviewQueueFactory
from tests.traces.factories import TraceFactory

pytestmark = pytest.mark.django_db


def test_close_item_for_trace_closes_the_pending_item(project, reviewer):
    item = QueueItemFactory(queue=ReviewQueueFactory(project=project))
    assert services.close_item_for_trace(trace=item.trace, by=reviewer) == 1
    item.refresh_from_db()
    assert item.closed_at is not None
    assert item.close_reason == CloseReason.REVIEWED
    assert item.closed_by == reviewer


def test_close_item_for_trace_without_pending_item_is_a_no_op(project):
    trace = TraceFactory(project=project)
    assert services.close_item_for_trace(trace=trace) == 0
    assert not QueueItem.objects.exists()
