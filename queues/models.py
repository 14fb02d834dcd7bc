"""Review queues (SPEC §5): named lists of traces that still need a human review.

A `QueueItem` is one stay of a trace in a queue. It is *pending* until it is closed (reviewed,
removed, moved elsewhere, or its queue deleted); closed items are kept so that "Next" keeps
working from a trace that has just left the queue. The database guarantees that a trace is
pending in at most one queue; deleting a queue closes its pending items, so "at most one active
queue" holds too.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from projects.models import Project
from traces.models import Trace


class ReviewQueueQuerySet(models.QuerySet):
    def active(self) -> ReviewQueueQuerySet:
        return self.filter(deleted_at__isnull=True)

    def for_project(self, project: Project) -> ReviewQueueQuerySet:
        return self.filter(project=project)

    def with_pending_stats(self) -> ReviewQueueQuerySet:
        """Pending count and oldest pending time per queue, in the one query of the list page."""
        pending = models.Q(items__closed_at__isnull=True)
        return self.annotate(
            pending_count=models.Count("items", filter=pending),
            oldest_pending_at=models.Min("items__added_at", filter=pending),
        )


class ReviewQueue(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="queues")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Soft delete: the queue and its history stay, its name becomes free again.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = ReviewQueueQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "project",
                condition=models.Q(deleted_at__isnull=True),
                name="queues_reviewqueue_unique_active_name",
                violation_error_message="A queue with this name already exists in this project.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("queues:detail", args=[self.project.slug, self.pk])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class CloseReason(models.TextChoices):
    REVIEWED = "reviewed", "Reviewed"
    REMOVED = "removed", "Removed"
    MOVED = "moved", "Moved to another queue"
    QUEUE_DELETED = "queue_deleted", "Queue deleted"


class QueueItemQuerySet(models.QuerySet):
    def pending(self) -> QueueItemQuerySet:
        return self.filter(closed_at__isnull=True)

    def in_order(self) -> QueueItemQuerySet:
        # Queue order is insertion order: ids grow with added_at and give a unique keyset.
        return self.order_by("id")

    def available_to(self, user, now=None) -> QueueItemQuerySet:
        """Items nobody else holds an unexpired claim on."""
        now = now or timezone.now()
        claimed_by_other = models.Q(claimed_by__isnull=False, claim_expires_at__gt=now) & ~models.Q(
            claimed_by=user
        )
        return self.exclude(claimed_by_other)


class QueueItem(models.Model):
    queue = models.ForeignKey(ReviewQueue, on_delete=models.CASCADE, related_name="items")
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="queue_items")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)
    # A claim says "someone opened this from the queue a moment ago": Next skips it for others
    # until it expires. Expiry is checked at read time, so nothing has to clean claims up.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = QueueItemQuerySet.as_manager()

    class Meta:
        constraints = [
            # A trace is pending in at most one queue (deleting a queue closes its items).
            models.UniqueConstraint(
                fields=["trace"],
                condition=models.Q(closed_at__isnull=True),
                name="queues_queueitem_one_pending_per_trace",
                violation_error_message="This trace is already pending in a queue.",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(closed_at__isnull=True, close_reason="")
                    | (models.Q(closed_at__isnull=False) & ~models.Q(close_reason=""))
                ),
                name="queues_queueitem_closed_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(close_reason__in=["", *CloseReason.values]),
                name="queues_queueitem_close_reason_valid",
            ),
        ]
        indexes = [
            # Serves neighbours() ("next/previous pending after item N": keyset on id), position()
            # (COUNT of pending items up to N), the pending count and the queue page's order.
            models.Index(
                fields=["queue", "id"],
                condition=models.Q(closed_at__isnull=True),
                name="queues_item_pending_order",
            ),
            # "Where was this trace last seen in this queue" (anchor for a just-closed item).
            models.Index(fields=["trace", "queue", "-id"], name="queues_item_trace_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.trace} in {self.queue}"

    @property
    def is_pending(self) -> bool:
        return self.closed_at is None

    def claim_is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return bool(self.claimed_by_id and self.claim_expires_at and self.claim_expires_at > now)

    def claimed_by_other(self, user, now=None) -> bool:
        return self.claim_is_live(now) and self.claimed_by_id != getattr(user, "pk", None)

    def claim_age(self, now=None) -> timedelta | None:
        if self.claimed_at is None:
            return None
        return (now or timezone.now()) - self.claimed_at
