"""Reviews of traces, their scores and their append-only history (SPEC §4).

- `Review`: one per trace while active (partial unique constraint); deleting is a soft delete
  (`deleted_at`), after which the trace may be reviewed again.
- `ReviewScore`: at most one per scorer per review. It pins the scorer version it was validated
  against and keeps a snapshot of that version's config, so a review renders the same whatever
  happens to the scorer later. Exactly one value column is set, the one matching the kind.
- `ReviewScoreOption`: one row per chosen option key of a categorical score. "Reviews where
  Outcome is Resolved" is then a plain B-tree lookup on (scorer, key) that behaves the same on
  PostgreSQL and SQLite; a JSON array with a GIN index would need a PostgreSQL-only lookup
  (`@>`) plus a slow SQLite fallback, and two code paths to keep in step.
- `ReviewRevision`: every save and delete appends one, numbered per *trace* (not per review), so
  a form's `base_revision` names exactly one state of the trace's review even across a delete and
  a new review. Revisions are written once and never changed.

Writes go through `reviews.services` (save_review / delete_review), which keep these rows in step.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Prefetch, Q
from django.utils import timezone

from projects.models import Project
from scorers.configs import VALUE_DECIMAL_PLACES, VALUE_STORAGE_MAX_DIGITS, Kind, display_value
from scorers.models import Scorer, ScorerVersion
from traces.models import Trace

REASONING_MAX_LENGTH = 20_000


class ImmutableRevisionError(Exception):
    """Raised when code tries to change or delete a stored review revision."""


class ReviewQuerySet(models.QuerySet):
    def for_project(self, project: Project) -> ReviewQuerySet:
        return self.filter(project=project)

    def active(self) -> ReviewQuerySet:
        return self.filter(deleted_at__isnull=True)

    def with_scores(self) -> ReviewQuerySet:
        """Scores (with their scorer, for the name) in one extra query per page or chunk."""
        return self.prefetch_related(
            Prefetch("scores", queryset=ReviewScore.objects.select_related("scorer").in_display_order())
        )

    def for_list(self) -> ReviewQuerySet:
        """What the reviews page and the export show for each row."""
        return self.select_related("trace__project", "reviewed_by", "created_by").with_scores()

    def search(self, text: str) -> ReviewQuerySet:
        """Trace id or reasoning containing `text`, case-insensitively (SPEC §4.1)."""
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(trace__trace_id__icontains=text) | Q(reasoning__icontains=text))


class Review(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="reviews")
    reasoning = models.TextField(blank=True, max_length=REASONING_MAX_LENGTH)
    # PROTECT: who reviewed is history; deactivate people instead of deleting them.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Number of the latest revision of this review: what a form's `base_revision` is checked against.
    revision = models.PositiveIntegerField(default=0)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["trace"],
                condition=Q(deleted_at__isnull=True),
                name="reviews_review_one_active_per_trace",
                violation_error_message="This trace already has a review.",
            ),
            models.CheckConstraint(
                condition=Q(deleted_at__isnull=True) | Q(deleted_by__isnull=False),
                name="reviews_review_deleted_by_someone",
            ),
        ]
        indexes = [
            # The reviews page: a project's active reviews, newest update (or creation) first.
            models.Index(
                fields=["project", "-updated_at", "-id"],
                condition=Q(deleted_at__isnull=True),
                name="reviews_review_active_updated",
            ),
            models.Index(
                fields=["project", "-created_at", "-id"],
                condition=Q(deleted_at__isnull=True),
                name="reviews_review_active_created",
            ),
            # The "reviewer" filter of the reviews page.
            models.Index(fields=["reviewed_by", "-updated_at"], name="reviews_review_reviewer"),
        ]

    def __str__(self) -> str:
        return f"Review of {self.trace}"

    def get_absolute_url(self) -> str:
        return self.trace.get_absolute_url()

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ReviewScoreQuerySet(models.QuerySet):
    def in_display_order(self) -> ReviewScoreQuerySet:
        """The order the scores were written in: the order the reviewer added the scorers."""
        return self.order_by("id")


class ReviewScore(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="scores")
    # RESTRICT: a scorer or version in use cannot be deleted, unless the project goes with it.
    # No index of its own: reviews_reviewscore_number starts with the scorer.
    scorer = models.ForeignKey(Scorer, on_delete=models.RESTRICT, related_name="scores", db_index=False)
    scorer_version = models.ForeignKey(ScorerVersion, on_delete=models.RESTRICT, related_name="+")
    version_number = models.PositiveIntegerField()
    # The version's config as it was: reviews render from this, never from the live scorer.
    config = models.JSONField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Exactly one of these is set, the one matching `kind` (reviews_reviewscore_value_matches_kind).
    keys = models.JSONField(null=True, blank=True, help_text="categorical: chosen option keys")
    number = models.DecimalField(
        max_digits=VALUE_STORAGE_MAX_DIGITS, decimal_places=VALUE_DECIMAL_PLACES, null=True, blank=True
    )
    flag = models.BooleanField(null=True, blank=True)

    objects = ReviewScoreQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "scorer"], name="reviews_reviewscore_one_per_scorer"),
            models.CheckConstraint(
                condition=(
                    Q(kind=Kind.CATEGORICAL, keys__isnull=False, number__isnull=True, flag__isnull=True)
                    | Q(kind=Kind.NUMERIC, keys__isnull=True, number__isnull=False, flag__isnull=True)
                    | Q(kind=Kind.BOOLEAN, keys__isnull=True, number__isnull=True, flag__isnull=False)
                ),
                name="reviews_reviewscore_value_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(version_number__gte=1), name="reviews_reviewscore_version_number_positive"
            ),
        ]
        indexes = [
            # "Accuracy between 3 and 5" on the reviews page.
            models.Index(fields=["scorer", "number"], name="reviews_reviewscore_number"),
            # "Safe is Yes" on the reviews page.
            models.Index(fields=["scorer", "flag"], name="reviews_reviewscore_flag"),
        ]

    def __str__(self) -> str:
        return f"{self.scorer}: {self.display}"

    @property
    def value(self) -> Any:
        """The stored value in the shape `scorers.configs.validate_value` returns."""
        if self.kind == Kind.CATEGORICAL:
            return list(self.keys or [])
        if self.kind == Kind.NUMERIC:
            return self.number
        return self.flag

    def set_value(self, value: Any) -> None:
        """Put a validated value in the column of this score's kind, clearing the others."""
        self.keys = self.number = self.flag = None
        if self.kind == Kind.CATEGORICAL:
            self.keys = list(value)
        elif self.kind == Kind.NUMERIC:
            self.number = Decimal(value)
        else:
            self.flag = bool(value)

    @property
    def display(self) -> str:
        """The value as people read it, from the snapshot: "Resolved", "4", "Yes"."""
        return display_value(self.kind, self.config, self.value)

    def snapshot(self) -> dict[str, Any]:
        """What a revision keeps of this score: enough to render and compare it forever."""
        value = self.value
        return {
            "scorer_id": self.scorer_id,
            "scorer_name": self.scorer.name,
            "version_id": self.scorer_version_id,
            "version_number": self.version_number,
            "kind": self.kind,
            "config": self.config,
            "value": str(value) if isinstance(value, Decimal) else value,
            "display": self.display,
        }


class ReviewScoreOption(models.Model):
    """One chosen key of a categorical score, so that option filters are indexed lookups."""

    score = models.ForeignKey(ReviewScore, on_delete=models.CASCADE, related_name="options")
    # Copied from the score so the (scorer, key) index answers "Outcome is Resolved" alone (and
    # serves as the foreign key's index).
    scorer = models.ForeignKey(Scorer, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=128)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["score", "key"], name="reviews_reviewscoreoption_unique_key"),
        ]
        indexes = [
            # "Reviews where Outcome is Resolved" on the reviews page.
            models.Index(fields=["scorer", "key"], name="reviews_reviewscoreoption_key"),
        ]

    def __str__(self) -> str:
        return self.key


class RevisionAction(models.TextChoices):
    SAVE = "save", "Saved"
    DELETE = "delete", "Deleted"


class ReviewRevisionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRevisionError("Review revisions are never updated.")

    def delete(self):
        raise ImmutableRevisionError("Review revisions are never deleted.")


class ReviewRevision(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="revisions")
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="review_revisions")
    # Numbered per trace: see the module docstring.
    number = models.PositiveIntegerField()
    action = models.CharField(max_length=10, choices=RevisionAction.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    reasoning = models.TextField(blank=True)
    # [ReviewScore.snapshot(), ...]: the scores with their scorer version snapshots.
    scores = models.JSONField(default=list, blank=True)

    objects = ReviewRevisionQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        constraints = [
            # Two saves from the same base would both write number N+1: one of them fails here.
            models.UniqueConstraint(fields=["trace", "number"], name="reviews_reviewrevision_number_unique"),
            models.CheckConstraint(
                condition=Q(action__in=RevisionAction.values), name="reviews_reviewrevision_action_valid"
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="reviews_reviewrevision_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.review} r{self.number} ({self.action})"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableRevisionError("Review revisions are never updated; append a new one.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRevisionError("Review revisions are never deleted.")

    @property
    def is_delete(self) -> bool:
        return self.action == RevisionAction.DELETE
