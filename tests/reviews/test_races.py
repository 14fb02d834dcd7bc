"""Races between two reviewers, each on its own database connection (PostgreSQL only: SQLite
serialises writers, so these interleavings cannot happen there)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from reviews.models import Review, ReviewRevision
from reviews.services import CHANGED_MEANWHILE, JUST_REVIEWED, ReviewConflict, save_review
from tests.projects.factories import MembershipFactory
from tests.reviews.factories import TraceFactory, make_review

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def in_thread(target: Callable[[], object], results: dict, name: str) -> threading.Thread:
    def run():
        try:
            results[name] = target()
        except Exception as e:  # the test asserts on what each side got
            results[name] = e
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def slow_commit(ready: threading.Event, work: Callable[[], object]) -> Callable[[], object]:
    """Do `work` in a transaction that stays open a moment after signalling `ready`."""

    def run():
        with transaction.atomic():
            result = work()
            ready.set()
            time.sleep(0.5)  # the other side runs into our uncommitted row meanwhile
        return result

    return run


@pytest.fixture
def people(project):
    return (
        MembershipFactory(project=project, role="reviewer").user,
        MembershipFactory(project=project, role="reviewer").user,
    )


def test_two_first_saves_of_one_trace_end_with_one_review(project, people):
    """B passes the "no review yet" check while A's insert is uncommitted, and then hits the
    partial unique constraint: it must get the same message as the check, never an error."""
    alice, bob = people
    trace = TraceFactory(project=project)
    ready, results = threading.Event(), {}

    a = in_thread(
        slow_commit(
            ready, lambda: save_review(trace=trace, user=alice, reasoning="A", scores={}, base_revision=None)
        ),
        results,
        "a",
    )
    ready.wait(5)

    def bob_saves():
        return save_review(trace=trace, user=bob, reasoning="B", scores={}, base_revision=None)

    b = in_thread(bob_saves, results, "b")
    a.join(10)
    b.join(10)

    assert isinstance(results["a"], Review)
    assert isinstance(results["b"], ReviewConflict), results["b"]
    assert results["b"].message == JUST_REVIEWED
    assert results["b"].revision == 1
    review = Review.objects.get(trace=trace)
    assert review.reasoning == "A"
    assert list(ReviewRevision.objects.filter(trace=trace).values_list("number", "by")) == [(1, alice.pk)]


def test_simultaneous_first_saves_never_fail(project, people):
    """Both start at the same instant, many times: always one review and one conflict."""
    alice, bob = people
    for _ in range(5):
        trace = TraceFactory(project=project)
        barrier, results = threading.Barrier(2), {}

        def saver(user, text, trace=trace, barrier=barrier):
            def run():
                barrier.wait(5)
                return save_review(trace=trace, user=user, reasoning=text, scores={}, base_revision=None)

            return run

        threads = [in_thread(saver(alice, "A"), results, "a"), in_thread(saver(bob, "B"), results, "b")]
        for t in threads:
            t.join(10)
        outcomes = sorted(type(r).__name__ for r in results.values())
        assert outcomes == ["Review", "ReviewConflict"], results
        assert Review.objects.filter(trace=trace).count() == 1
        assert ReviewRevision.objects.filter(trace=trace).count() == 1


def test_two_edits_from_the_same_base_one_wins_and_no_revision_is_lost(project, people):
    alice, bob = people
    trace = TraceFactory(project=project)
    make_review(trace, alice, reasoning="original")
    ready, results = threading.Event(), {}

    a = in_thread(
        slow_commit(
            ready, lambda: save_review(trace=trace, user=alice, reasoning="A", scores={}, base_revision=1)
        ),
        results,
        "a",
    )
    ready.wait(5)
    b = in_thread(
        lambda: save_review(trace=trace, user=bob, reasoning="B", scores={}, base_revision=1), results, "b"
    )
    a.join(10)
    b.join(10)

    assert isinstance(results["a"], Review)
    conflict = results["b"]
    assert isinstance(conflict, ReviewConflict), conflict
    assert conflict.message == CHANGED_MEANWHILE
    assert conflict.revision == 2
    assert any(alice.username in change for change in conflict.changes)
    review = Review.objects.get(trace=trace)
    assert (review.reasoning, review.revision, review.reviewed_by) == ("A", 2, alice)
    revisions = list(
        ReviewRevision.objects.filter(trace=trace).order_by("number").values_list("number", "reasoning")
    )
    assert revisions == [(1, "original"), (2, "A")]

    # Bob saves again from the revision the conflict showed him: now it is his, and both stay in history.
    save_review(trace=trace, user=bob, reasoning="B", scores={}, base_revision=conflict.revision)
    assert list(
        ReviewRevision.objects.filter(trace=trace).order_by("number").values_list("reasoning", flat=True)
    ) == [
        "original",
        "A",
        "B",
    ]
