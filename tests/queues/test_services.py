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


def _queue(project, **kw):
    return ReviewQueueFactory(project=project, **kw)


def test_enqueue_adds_traces_in_bulk_and_reports(project, reviewer, django_assert_max_num_queries):
    queue = _queue(project)
    traces = TraceFactory.create_batch(30, project=project)
    with django_assert_max_num_queries(10):
        result = services.enqueue_traces(queue=queue, traces=traces, user=reviewer)
    assert result.added == 30
    assert services.pending_count(queue) == 30
    assert QueueItem.objects.filter(added_by=reviewer).count() == 30


def test_enqueue_accepts_a_queryset_and_ignores_other_projects(project, other_project, reviewer):
    queue = _queue(project)
    mine = TraceFactory.create_batch(3, project=project)
    TraceFactory.create_batch(2, project=other_project)
    from traces.models import Trace

    result = services.enqueue_traces(queue=queue, traces=Trace.objects.all(), user=reviewer)
    assert result.added == 3
    assert set(QueueItem.objects.values_list("trace_id", flat=True)) == {t.pk for t in mine}


def test_enqueue_twice_reports_already_there(project, reviewer):
    queue = _queue(project)
    trace = TraceFactory(project=project)
    services.enqueue_traces(queue=queue, traces=[trace], user=reviewer)
    result = services.enqueue_traces(queue=queue, traces=[trace], user=reviewer)
    assert (result.added, result.already_there) == (0, 1)
    assert QueueItem.objects.count() == 1


def test_enqueue_reports_the_queue_holding_a_trace_and_leaves_it_there(project, reviewer):
    first, second = _queue(project, name="First"), _queue(project, name="Second")
    trace = TraceFactory(project=project)
    services.enqueue_traces(queue=first, traces=[trace], user=reviewer)
    result = services.enqueue_traces(queue=second, traces=[trace], user=reviewer)
    assert result.added == 0
    assert result.pending_elsewhere == {first: 1}
    assert "First" in result.summary()
    assert services.pending_item_for_trace(trace).queue == first


def test_enqueue_with_move_moves_the_trace(project, reviewer):
    first, second = _queue(project), _queue(project)
    trace = TraceFactory(project=project)
    services.enqueue_traces(queue=first, traces=[trace], user=reviewer)
    result = services.enqueue_traces(queue=second, traces=[trace], user=reviewer, move=True)
    assert (result.added, result.moved) == (1, 1)
    assert services.pending_item_for_trace(trace).queue == second
    old = QueueItem.objects.get(queue=first)
    assert old.close_reason == CloseReason.MOVED


def test_enqueue_into_a_deleted_queue_is_refused(project, reviewer):
    queue = _queue(project)
    services.delete_queue(queue=queue)
    with pytest.raises(services.QueueError):
        services.enqueue_traces(queue=queue, traces=[TraceFactory(project=project)], user=reviewer)


def test_a_trace_can_return_to_a_queue_after_leaving_it(project, reviewer):
    queue = _queue(project)
    trace = TraceFactory(project=project)
    services.enqueue_traces(queue=queue, traces=[trace], user=reviewer)
    services.close_item_for_trace(trace=trace)
    assert services.enqueue_traces(queue=queue, traces=[trace], user=reviewer).added == 1


def test_partial_unique_allows_one_pending_item_per_trace(project):
    from django.db import IntegrityError, transaction

    trace = TraceFactory(project=project)
    QueueItemFactory(queue=_queue(project), trace=trace)
    with pytest.raises(IntegrityError), transaction.atomic():
        QueueItemFactory(queue=_queue(project), trace=trace)


def test_enqueue_trace_turns_a_constraint_race_into_a_report(project, reviewer, monkeypatch):
    """The pre-check passed but another queue won the insert: same message, no exception."""
    from django.db import IntegrityError

    first, second = _queue(project, name="Winner"), _queue(project)
    trace = TraceFactory(project=project)
    services.enqueue_traces(queue=first, traces=[trace], user=reviewer)

    def raced(**kwargs):
        raise IntegrityError("queues_queueitem_one_pending_per_trace")

    monkeypatch.setattr(services, "enqueue_traces", raced)
    result = services.enqueue_trace(queue=second, trace=trace, user=reviewer)
    assert result.pending_elsewhere == {first: 1}


def test_queue_names_are_unique_among_active_queues_case_insensitively(project, reviewer):
    services.create_queue(project=project, name="Hallucinations", user=reviewer)
    with pytest.raises(services.QueueError):
        services.create_queue(project=project, name="hallucinations ", user=reviewer)


def test_a_deleted_queues_name_can_be_reused(project, reviewer):
    queue = services.create_queue(project=project, name="Tone", user=reviewer)
    services.delete_queue(queue=queue)
    assert services.create_queue(project=project, name="Tone", user=reviewer).pk != queue.pk


def test_the_database_refuses_a_duplicate_active_name(project):
    from django.db import IntegrityError, transaction

    _queue(project, name="Dup")
    with pytest.raises(IntegrityError), transaction.atomic():
        _queue(project, name="DUP")


def test_same_name_in_another_project_is_fine(project, other_project, reviewer):
    services.create_queue(project=project, name="Same", user=reviewer)
    services.create_queue(project=other_project, name="Same", user=reviewer)


def test_delete_queue_closes_its_pending_items(project, admin_user):
    queue = _queue(project)
    items = QueueItemFactory.create_batch(3, queue=queue)
    assert services.delete_queue(queue=queue, by=admin_user) == 3
    queue.refresh_from_db()
    assert queue.deleted_at is not None
    assert not QueueItem.objects.pending().exists()
    # Their traces are free to join another queue.
    other = _queue(project)
    assert services.enqueue_traces(queue=other, traces=[i.trace for i in items], user=admin_user).added == 3


def test_remove_from_queue(project, reviewer):
    item = QueueItemFactory(queue=_queue(project))
    assert services.remove_from_queue(item=item, by=reviewer) is True
    assert services.remove_from_queue(item=item, by=reviewer) is False
    item.refresh_from_db()
    assert item.close_reason == CloseReason.REMOVED


# --- navigation ---------------------------------------------------------------------------------


@pytest.fixture
def five(project):
    queue = _queue(project)
    return queue, QueueItemFactory.create_batch(5, queue=queue)


def test_neighbours_in_queue_order(five):
    queue, items = five
    assert services.neighbours(queue, items[2]) == (items[1], items[3])
    assert services.neighbours(queue, items[0]) == (None, items[1])
    assert services.neighbours(queue, items[4]) == (items[3], None)


def test_neighbours_from_a_just_closed_item(five):
    queue, items = five
    services.close_item_for_trace(trace=items[2].trace)
    assert services.neighbours(queue, items[2]) == (items[1], items[3])
    assert services.position(queue, items[2]) == (None, 4)


def test_neighbours_skip_closed_items(five):
    queue, items = five
    services.remove_from_queue(item=items[3])
    services.remove_from_queue(item=items[1])
    assert services.neighbours(queue, items[2]) == (items[0], items[4])


def test_next_skips_items_claimed_by_others_but_not_mine(five, reviewer, admin_user):
    queue, items = five
    services.claim(items[1], admin_user)
    assert services.neighbours(queue, items[0], user=reviewer)[1] == items[2]
    assert services.neighbours(queue, items[0], user=admin_user)[1] == items[1]


def test_expired_claims_are_ignored(five, reviewer, admin_user):
    from datetime import timedelta

    from django.utils import timezone

    queue, items = five
    services.claim(items[1], admin_user)
    QueueItem.objects.filter(pk=items[1].pk).update(claim_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.neighbours(queue, items[0], user=reviewer)[1] == items[1]
    assert services.claim(items[1], reviewer) is True


def test_position_counts_claimed_items(five, admin_user):
    queue, items = five
    for item in items:
        services.claim(item, admin_user)
    assert services.position(queue, items[3]) == (4, 5)


def test_claim_refuses_an_item_someone_else_holds(five, reviewer, admin_user):
    queue, items = five
    assert services.claim(items[0], admin_user) is True
    assert services.claim(items[0], reviewer) is False
    items[0].refresh_from_db()
    assert items[0].claimed_by == admin_user
    # The holder refreshing their claim keeps "claimed N min ago" from the first claim.
    first_claimed_at = items[0].claimed_at
    assert services.claim(items[0], admin_user) is True
    items[0].refresh_from_db()
    assert items[0].claimed_at == first_claimed_at


def test_claim_next_gives_two_reviewers_different_items(five, reviewer, admin_user):
    queue, items = five
    a = services.claim_next(queue=queue, user=reviewer)
    b = services.claim_next(queue=queue, user=admin_user)
    assert a == items[0]
    assert b == items[1]


def test_claim_next_continues_after_a_closed_anchor_and_wraps(five, reviewer):
    queue, items = five
    services.close_item_for_trace(trace=items[4].trace)
    # From the last (now closed) item, Next wraps to the first pending one.
    assert services.claim_next(queue=queue, user=reviewer, after=items[4].pk) == items[0]


def test_claim_next_returns_none_when_the_queue_is_done(project, reviewer):
    queue = _queue(project)
    item = QueueItemFactory(queue=queue)
    services.close_item_for_trace(trace=item.trace)
    assert services.claim_next(queue=queue, user=reviewer, after=item.pk) is None


def test_claim_next_leaves_others_claims_alone(five, reviewer, admin_user):
    queue, items = five
    for item in items:
        services.claim(item, admin_user)
    assert services.claim_next(queue=queue, user=reviewer) is None
    # ...and the queue does not look empty.
    assert services.pending_count(queue) == 5


# --- size ---------------------------------------------------------------------------------------

BIG = 50_000


@pytest.fixture
def big_queue(project):
    """A queue of 50,000 pending items, bulk-inserted (factories would take minutes)."""
    from django.utils import timezone

    from traces.models import Trace

    queue = _queue(project)
    now = timezone.now()
    Trace.objects.bulk_create(
        [Trace(project=project, trace_id=f"big-{n}", started_at=now) for n in range(BIG)], batch_size=5000
    )
    ids = Trace.objects.filter(project=project).order_by("pk").values_list("pk", flat=True)
    QueueItem.objects.bulk_create(
        [QueueItem(queue=queue, trace_id=pk, added_at=now) for pk in ids], batch_size=5000
    )
    return queue


def test_neighbours_and_position_run_constant_queries_on_a_big_queue(
    big_queue, reviewer, django_assert_num_queries
):
    pending = QueueItem.objects.pending().filter(queue=big_queue).in_order()
    middle = pending[BIG // 2]
    last = pending.last()
    for anchor in (pending.first(), middle, last):
        with django_assert_num_queries(2):
            services.neighbours(big_queue, anchor, user=reviewer)
        with django_assert_num_queries(1):
            services.position(big_queue, anchor)
    assert services.position(big_queue, middle) == (BIG // 2 + 1, BIG)
    services.close_item_for_trace(trace=middle.trace)
    with django_assert_num_queries(2):
        prev, nxt = services.neighbours(big_queue, middle, user=reviewer)
    assert prev.pk < middle.pk < nxt.pk


# --- reviewed traces (asked through the Trace.reviews relation) ----------------------------------


def _review(trace, user):
    from reviews.services import save_review

    return save_review(trace=trace, user=user, reasoning="fine", scores={}, base_revision=None)


def test_enqueue_refuses_a_reviewed_trace(project, reviewer):
    queue = _queue(project)
    reviewed, fresh = TraceFactory.create_batch(2, project=project)
    _review(reviewed, reviewer)
    result = services.enqueue_traces(queue=queue, traces=[reviewed, fresh], user=reviewer)
    assert (result.added, result.refused_reviewed) == (1, 1)
    assert "1 refused: already reviewed" in result.summary()
    assert services.trace_has_active_review(reviewed)
    assert not services.trace_has_active_review(fresh)


def test_a_trace_whose_review_was_deleted_can_be_queued_again(project, reviewer):
    from reviews.services import delete_review

    queue = _queue(project)
    trace = TraceFactory(project=project)
    review = _review(trace, reviewer)
    delete_review(review=review, user=reviewer, base_revision=1)
    assert services.enqueue_traces(queue=queue, traces=[trace], user=reviewer).added == 1


def test_saving_a_review_closes_the_pending_item_in_the_same_transaction(project, reviewer):
    queue = _queue(project)
    item = QueueItemFactory(queue=queue)
    _review(item.trace, reviewer)
    item.refresh_from_db()
    assert item.close_reason == CloseReason.REVIEWED
    assert services.pending_count(queue) == 0
