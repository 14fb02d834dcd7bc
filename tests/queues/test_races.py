"""Queue races on PostgreSQL, with real concurrent transactions (threads, one connection each).

Each test makes the interleaving deterministic: one side holds its transaction open at the point
that matters while the other side runs, so the test fails for real without the lock it checks.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from queues import services
from queues.models import QueueItem
from tests.projects.factories import MembershipFactory
from tests.queues.factories import QueueItemFactory, ReviewQueueFactory
from tests.traces.factories import TraceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
WAIT = 10  # seconds; a test that needs this long has deadlocked


class Worker(threading.Thread):
    """Runs `fn` in its own thread and database connection; keeps its result or exception."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None

    def run(self):
        try:
            self.result = self.fn()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc
        finally:
            connection.close()

    def outcome(self):
        self.join(WAIT)
        assert not self.is_alive(), "worker still blocked: deadlock or missing skip_locked"
        if self.error:
            raise self.error
        return self.result


def holding(fn, started: threading.Event, release: threading.Event):
    """fn() inside a transaction that stays open (locks held) until `release` is set."""

    def run():
        with transaction.atomic():
            result = fn()
            started.set()
            release.wait(WAIT)
        return result

    return run


@pytest.fixture
def two_reviewers(project):
    return (
        MembershipFactory(project=project, role="reviewer").user,
        MembershipFactory(project=project, role="reviewer").user,
    )


def test_two_reviewers_pressing_next_at_once_get_different_traces(project, two_reviewers):
    alice, bob = two_reviewers
    queue = ReviewQueueFactory(project=project)
    items = QueueItemFactory.create_batch(3, queue=queue)
    started, release = threading.Event(), threading.Event()
    # Alice's Next has locked the first item and not committed yet when Bob presses Next.
    a = Worker(holding(lambda: services.claim_next(queue=queue, user=alice), started, release))
    a.start()
    assert started.wait(WAIT)
    b = Worker(lambda: services.claim_next(queue=queue, user=bob))
    b.start()
    got_b = b.outcome()  # must not wait for Alice: the locked row is skipped
    release.set()
    got_a = a.outcome()
    assert got_a.pk == items[0].pk
    assert got_b.pk == items[1].pk
    claims = dict(QueueItem.objects.filter(claimed_by__isnull=False).values_list("pk", "claimed_by"))
    assert claims == {items[0].pk: alice.pk, items[1].pk: bob.pk}


def test_many_simultaneous_nexts_never_share_a_trace(project):
    users = [MembershipFactory(project=project, role="reviewer").user for _ in range(4)]
    queue = ReviewQueueFactory(project=project)
    QueueItemFactory.create_batch(6, queue=queue)
    barrier = threading.Barrier(len(users))

    def press_next(user):
        def run():
            barrier.wait(WAIT)
            return services.claim_next(queue=queue, user=user)

        return run

    workers = [Worker(press_next(u)) for u in users]
    for w in workers:
        w.start()
    got = [w.outcome().pk for w in workers]
    assert len(set(got)) == len(users)


def test_two_enqueues_of_one_trace_into_two_queues_end_in_exactly_one(project, two_reviewers):
    alice, bob = two_reviewers
    first = ReviewQueueFactory(project=project, name="First")
    second = ReviewQueueFactory(project=project, name="Second")
    trace = TraceFactory(project=project)
    started, release = threading.Event(), threading.Event()
    a = Worker(
        holding(lambda: services.enqueue_traces(queue=first, traces=[trace], user=alice), started, release)
    )
    a.start()
    assert started.wait(WAIT)
    b = Worker(lambda: services.enqueue_trace(queue=second, trace=trace, user=bob))
    b.start()
    b.join(0.5)
    assert b.is_alive(), "the second enqueue should wait for the first one's lock on the trace"
    release.set()
    result_a, result_b = a.outcome(), b.outcome()
    assert result_a.added == 1
    assert result_b.added == 0
    assert {q.name: n for q, n in result_b.pending_elsewhere.items()} == {"First": 1}
    assert list(QueueItem.objects.pending().values_list("trace_id", "queue_id")) == [(trace.pk, first.pk)]


def test_simultaneous_enqueues_race_without_a_500(project):
    users = [MembershipFactory(project=project, role="reviewer").user for _ in range(4)]
    queues = [ReviewQueueFactory(project=project) for _ in users]
    traces = TraceFactory.create_batch(20, project=project)
    barrier = threading.Barrier(len(users))

    def add(queue, user):
        def run():
            barrier.wait(WAIT)
            return services.enqueue_traces(queue=queue, traces=list(reversed(traces)), user=user)

        return run

    workers = [Worker(add(q, u)) for q, u in zip(queues, users, strict=True)]
    for w in workers:
        w.start()
    results = [w.outcome() for w in workers]
    assert sum(r.added for r in results) == 20
    assert QueueItem.objects.pending().count() == 20
    assert all(r.added + r.elsewhere_count == 20 for r in results)


def _save_review(trace, user):
    from reviews.services import save_review

    return save_review(trace=trace, user=user, reasoning="looked at it", scores={}, base_revision=None)


def test_review_saved_while_the_trace_is_being_queued_closes_the_new_item(project, two_reviewers):
    alice, bob = two_reviewers
    queue = ReviewQueueFactory(project=project)
    trace = TraceFactory(project=project)
    started, release = threading.Event(), threading.Event()
    # The enqueue has inserted the item but not committed when the review is saved.
    a = Worker(
        holding(lambda: services.enqueue_traces(queue=queue, traces=[trace], user=alice), started, release)
    )
    a.start()
    assert started.wait(WAIT)
    b = Worker(lambda: _save_review(trace, bob))
    b.start()
    b.join(0.5)
    release.set()
    assert a.outcome().added == 1
    b.outcome()
    assert not QueueItem.objects.pending().exists()
    assert QueueItem.objects.get().close_reason == "reviewed"


def test_trace_queued_while_its_review_is_being_saved_is_refused(project, two_reviewers):
    alice, bob = two_reviewers
    queue = ReviewQueueFactory(project=project)
    trace = TraceFactory(project=project)
    started, release = threading.Event(), threading.Event()
    a = Worker(holding(lambda: _save_review(trace, alice), started, release))
    a.start()
    assert started.wait(WAIT)
    b = Worker(lambda: services.enqueue_traces(queue=queue, traces=[trace], user=bob))
    b.start()
    b.join(0.5)
    release.set()
    a.outcome()
    result = b.outcome()
    assert (result.added, result.refused_reviewed) == (0, 1)
    assert not QueueItem.objects.pending().exists()
