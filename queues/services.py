"""Queue writes and the keyset reads that keep queue navigation cheap (SPEC §5).

Locking: every function that can make a trace pending (enqueue) or stop it being pending
(`close_item_for_trace`, called by `save_review` inside its transaction) first locks the trace
rows. So a review saved while the same trace is being queued ends in one consistent state: either
the enqueue sees the review and refuses, or the review's close sees the new item and closes it.
The partial unique constraint is the last line of defence for two queues racing for one trace.

Queue order is `QueueItem.id`; every read below is a keyset query on the partial index
(queue, id) WHERE closed_at IS NULL, so none of them loads the queue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from projects.models import Project
from queues.models import CloseReason, QueueItem, ReviewQueue
from traces.models import Trace

CLAIM_MINUTES = 5
# Enough ids per statement to keep queries few, few enough for SQLite's bound-parameter limit.
CHUNK = 2000


class QueueError(Exception):
    """A queue operation refused for a reason the user can act on (message is user-facing)."""


@dataclass
class EnqueueResult:
    added: int = 0
    already_there: int = 0
    # Traces left pending in another queue (move=False), counted per holding queue.
    pending_elsewhere: dict[ReviewQueue, int] = field(default_factory=dict)
    moved: int = 0
    refused_reviewed: int = 0

    @property
    def elsewhere_count(self) -> int:
        return sum(self.pending_elsewhere.values())

    @property
    def total(self) -> int:
        return self.added + self.already_there + self.elsewhere_count + self.refused_reviewed

    def summary(self) -> str:
        """One sentence a person can act on, e.g. "3 added, 1 already there, 2 refused ..."."""
        parts: list[str] = []
        if self.added or not (self.already_there or self.elsewhere_count or self.refused_reviewed):
            parts.append(f"{self.added} added")
        if self.moved:
            parts.append(f"{self.moved} moved from other queues")
        if self.already_there:
            parts.append(f"{self.already_there} already in this queue")
        for queue, count in self.pending_elsewhere.items():
            parts.append(f"{count} pending in “{queue.name}” (not moved)")
        if self.refused_reviewed:
            parts.append(f"{self.refused_reviewed} refused: already reviewed")
        return ", ".join(parts) + "."


# --- reading -------------------------------------------------------------------------------------


def reviewed_trace_ids(trace_ids: Iterable[int]) -> set[int]:
    """Ids among `trace_ids` that have an active review (one query on the review table)."""
    # queues may not import reviews (imports point reviews -> queues): it asks through the relation.
    # Not `Trace.filter(reviews__deleted_at__isnull=True)`: that LEFT JOIN also matches traces
    # with no review at all.
    review_model = Trace._meta.get_field("reviews").related_model
    return set(
        review_model._base_manager.filter(trace_id__in=list(trace_ids), deleted_at__isnull=True).values_list(
            "trace_id", flat=True
        )
    )


def trace_has_active_review(trace: Trace) -> bool:
    return bool(reviewed_trace_ids([trace.pk]))


def pending_item_for_trace(trace: Trace) -> QueueItem | None:
    """The trace's pending item (at most one exists), with its queue."""
    return QueueItem.objects.pending().filter(trace=trace).select_related("queue").first()


def anchor_item(queue: ReviewQueue, trace: Trace) -> QueueItem | None:
    """The trace's latest item in `queue`, pending or just closed: where navigation starts from."""
    return (
        QueueItem.objects.filter(queue=queue, trace=trace)
        .select_related("claimed_by")
        .order_by("-id")
        .first()
    )


def _anchor_id(anchor: QueueItem | int) -> int:
    return anchor if isinstance(anchor, int) else anchor.pk


def neighbours(
    queue: ReviewQueue, anchor: QueueItem | int, user=None
) -> tuple[QueueItem | None, QueueItem | None]:
    """(previous, next) pending items around `anchor` in queue order: two keyset queries.

    `anchor` may be closed (the trace was just reviewed): its id still marks the place. Next skips
    items someone other than `user` has an unexpired claim on; Previous does not (going back is a
    deliberate choice, and opening a claimed item shows who holds it).
    """
    anchor_id = _anchor_id(anchor)
    pending = QueueItem.objects.pending().filter(queue=queue).select_related("trace")
    previous = pending.filter(id__lt=anchor_id).order_by("-id").first()
    following = pending
    if user is not None:
        following = following.available_to(user)
    nxt = following.filter(id__gt=anchor_id).order_by("id").first()
    return previous, nxt


def position(queue: ReviewQueue, anchor: QueueItem | int) -> tuple[int | None, int]:
    """("7 of 42"): the anchor's place among pending items and the pending total, in one query.

    The place is None when the anchor is no longer pending. Claimed items count: a claim never
    makes a queue look smaller.
    """
    anchor_id = _anchor_id(anchor)
    stats = (
        QueueItem.objects.pending()
        .filter(queue=queue)
        .aggregate(
            total=models.Count("id"),
            upto=models.Count("id", filter=models.Q(id__lte=anchor_id)),
            me=models.Count("id", filter=models.Q(id=anchor_id)),
        )
    )
    return (stats["upto"] if stats["me"] else None), stats["total"]


def pending_count(queue: ReviewQueue) -> int:
    return QueueItem.objects.pending().filter(queue=queue).count()


# --- writing -------------------------------------------------------------------------------------


def _lock_traces(trace_ids: list[int]) -> list[int]:
    # The review-vs-enqueue race: see the module docstring. Ordered by id so that two bulk
    # operations over overlapping traces take their locks in the same order (no deadlock).
    return list(
        Trace.objects.select_for_update().filter(pk__in=trace_ids).order_by("pk").values_list("pk", flat=True)
    )


def _lock_active_queue(queue: ReviewQueue) -> ReviewQueue:
    # Against delete_queue running at the same time: nothing is added to a queue being deleted.
    locked = ReviewQueue.objects.select_for_update().filter(pk=queue.pk, deleted_at__isnull=True).first()
    if locked is None:
        raise QueueError("This queue has been deleted.")
    return locked


def _candidate_ids(queue: ReviewQueue, traces) -> list[int]:
    """Ids of the given traces that belong to the queue's project, in id order."""
    if isinstance(traces, models.QuerySet):
        qs = Trace.objects.filter(project_id=queue.project_id, pk__in=traces.order_by().values("pk"))
        return list(qs.order_by("pk").values_list("pk", flat=True))
    ids = sorted({t if isinstance(t, int) else t.pk for t in traces})
    found: list[int] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found += Trace.objects.filter(project_id=queue.project_id, pk__in=chunk).values_list("pk", flat=True)
    return sorted(found)


@transaction.atomic
def enqueue_traces(*, queue: ReviewQueue, traces, user, move: bool = False) -> EnqueueResult:
    """Add traces (a queryset, or a list of traces or ids) to `queue`, in bulk.

    Traces of other projects are ignored. A trace with an active review is refused; one pending in
    another queue is left there (reported per queue) unless `move`, which closes its item there.
    A constant number of queries per CHUNK traces, whatever the total.
    """
    queue = _lock_active_queue(queue)
    result = EnqueueResult()
    elsewhere: Counter[int] = Counter()
    now = timezone.now()
    ids = _candidate_ids(queue, traces)
    for start in range(0, len(ids), CHUNK):
        chunk = _lock_traces(ids[start : start + CHUNK])
        reviewed = reviewed_trace_ids(chunk)
        result.refused_reviewed += len(reviewed)
        pending = dict(
            QueueItem.objects.pending().filter(trace_id__in=chunk).values_list("trace_id", "queue_id")
        )
        to_add: list[int] = []
        to_move: list[int] = []
        for trace_id in chunk:
            if trace_id in reviewed:
                continue
            holder = pending.get(trace_id)
            if holder == queue.pk:
                result.already_there += 1
            elif holder is not None and not move:
                elsewhere[holder] += 1
            else:
                if holder is not None:
                    to_move.append(trace_id)
                to_add.append(trace_id)
        if to_move:
            result.moved += (
                QueueItem.objects.pending()
                .filter(trace_id__in=to_move)
                .exclude(queue=queue)
                .update(closed_at=now, close_reason=CloseReason.MOVED, closed_by=user)
            )
        if to_add:
            QueueItem.objects.bulk_create(
                [QueueItem(queue=queue, trace_id=t, added_by=user, added_at=now) for t in to_add],
                ignore_conflicts=True,  # a concurrent enqueue elsewhere won the partial unique
            )
            holders = dict(
                QueueItem.objects.pending().filter(trace_id__in=to_add).values_list("trace_id", "queue_id")
            )
            for trace_id in to_add:
                holder = holders.get(trace_id)
                if holder == queue.pk:
                    result.added += 1
                elif holder is not None:
                    elsewhere[holder] += 1
    if elsewhere:
        names = ReviewQueue.objects.in_bulk(list(elsewhere))
        result.pending_elsewhere = {names[q]: n for q, n in elsewhere.items() if q in names}
    return result


def enqueue_trace(*, queue: ReviewQueue, trace: Trace, user, move: bool = False) -> EnqueueResult:
    """One trace; a constraint violation from a race becomes the same report, never a 500."""
    try:
        return enqueue_traces(queue=queue, traces=[trace], user=user, move=move)
    except IntegrityError:
        item = pending_item_for_trace(trace)
        result = EnqueueResult()
        if item is not None and item.queue_id == queue.pk:
            result.already_there = 1
        elif item is not None:
            result.pending_elsewhere = {item.queue: 1}
        return result


@transaction.atomic
def close_item_for_trace(*, trace: Trace, reason: str = CloseReason.REVIEWED, by=None) -> int:
    """Close the trace's pending queue item, if any. Called by `save_review` in its transaction.

    Returns how many items were closed (0 or 1).
    """
    _lock_traces([trace.pk])
    return (
        QueueItem.objects.pending()
        .filter(trace=trace)
        .update(closed_at=timezone.now(), close_reason=reason, closed_by=by)
    )


@transaction.atomic
def remove_from_queue(*, item: QueueItem, by=None) -> bool:
    """Take a pending item out of its queue. False when it had already left."""
    return bool(
        QueueItem.objects.pending()
        .filter(pk=item.pk)
        .update(closed_at=timezone.now(), close_reason=CloseReason.REMOVED, closed_by=by)
    )


@transaction.atomic
def create_queue(*, project: Project, name: str, description: str = "", user=None) -> ReviewQueue:
    """Create a queue; a duplicate active name (even from a race) raises QueueError."""
    name = name.strip()
    if not name:
        raise QueueError("A queue needs a name.")
    if ReviewQueue.objects.active().for_project(project).filter(name__iexact=name).exists():
        raise QueueError(f"A queue named “{name}” already exists in this project.")
    try:
        with transaction.atomic():
            return ReviewQueue.objects.create(
                project=project, name=name, description=description, created_by=user
            )
    except IntegrityError:
        raise QueueError(f"A queue named “{name}” already exists in this project.") from None


@transaction.atomic
def delete_queue(*, queue: ReviewQueue, by=None) -> int:
    """Soft-delete the queue and close its pending items; returns how many were closed."""
    locked = ReviewQueue.objects.select_for_update().filter(pk=queue.pk).first()
    if locked is None or locked.deleted_at is not None:
        return 0
    now = timezone.now()
    ReviewQueue.objects.filter(pk=queue.pk).update(deleted_at=now)
    queue.deleted_at = now
    return (
        QueueItem.objects.pending()
        .filter(queue=queue)
        .update(closed_at=now, close_reason=CloseReason.QUEUE_DELETED, closed_by=by)
    )


def _skip_locked() -> dict:
    # Two reviewers pressing Next at once: each skips the row the other is claiming. SQLite has no
    # row locks (writes are serialised instead), so there the plain query is already safe.
    return {"skip_locked": True} if connection.features.has_select_for_update_skip_locked else {}


@transaction.atomic
def claim(item: QueueItem, user, minutes: int = CLAIM_MINUTES) -> bool:
    """Claim a pending item for `user` (or refresh their claim). False if someone else holds it
    with an unexpired claim, or the item is no longer pending; the item is refreshed either way."""
    now = timezone.now()
    locked = QueueItem.objects.select_for_update().filter(pk=item.pk).first()
    if locked is None or not locked.is_pending or locked.claimed_by_other(user, now):
        if locked is not None:
            item.claimed_by_id, item.claimed_at = locked.claimed_by_id, locked.claimed_at
            item.claim_expires_at, item.closed_at = locked.claim_expires_at, locked.closed_at
        return False
    claimed_at = locked.claimed_at if locked.claim_is_live(now) and locked.claimed_by_id == user.pk else now
    QueueItem.objects.filter(pk=item.pk).update(
        claimed_by=user, claimed_at=claimed_at, claim_expires_at=now + timedelta(minutes=minutes)
    )
    item.claimed_by, item.claimed_at = user, claimed_at
    item.claim_expires_at = now + timedelta(minutes=minutes)
    return True


@transaction.atomic
def claim_next(
    *,
    queue: ReviewQueue,
    user,
    after: int | None = None,
    minutes: int = CLAIM_MINUTES,
    claiming: bool = True,
) -> QueueItem | None:
    """Claim and return the first pending item after `after` (an item id, pending or closed) that
    nobody else holds; wraps to the start of the queue; None when nothing is left for `user`.

    `claiming=False` (viewers: they cannot review, so they must not hold traces back from those who
    can) only finds that item, writing nothing."""
    now = timezone.now()
    base = QueueItem.objects.pending().filter(queue=queue).available_to(user, now).order_by("id")
    if claiming:
        base = base.select_for_update(**_skip_locked())
    item = None
    if after is not None:
        item = base.filter(id__gt=after).first()
    if item is None:
        wrap = base if after is None else base.filter(id__lt=after)
        item = wrap.first()
    if item is None or not claiming:
        return item
    claimed_at = item.claimed_at if item.claimed_by_id == user.pk and item.claim_is_live(now) else now
    QueueItem.objects.filter(pk=item.pk).update(
        claimed_by=user, claimed_at=claimed_at, claim_expires_at=now + timedelta(minutes=minutes)
    )
    item.claimed_by, item.claimed_at = user, claimed_at
    item.claim_expires_at = now + timedelta(minutes=minutes)
    return item


def claim_previous(*, queue: ReviewQueue, user, before: int, claiming: bool = True) -> QueueItem | None:
    """The pending item before `before`, claimed for `user` when free (else left to its holder);
    `claiming=False` (viewers) only finds it."""
    item = QueueItem.objects.pending().filter(queue=queue, id__lt=before).order_by("-id").first()
    if item is not None and claiming:
        claim(item, user)
    return item
