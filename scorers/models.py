"""Scorers (reusable review fields) and their immutable versions (SPEC §3).

A scorer's name, description and archived state are metadata and change in place; its config
lives in `ScorerVersion` rows, which are written once and never updated or deleted: reviews pin
the version they were validated against. Guards, from the outside in: the admin is read-only,
`ScorerVersion.save()`/`delete()` and the QuerySet's `update()`/`delete()` refuse, and a database
trigger (migration 0002) refuses UPDATE always and DELETE unless the scorer itself is deleted in
the same transaction (deleting a whole project or scorer from Django admin must still work;
scorers are never deleted in the app, only archived).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from projects.models import Project
from scorers.configs import Kind, describe_config

# The reverse relation a later `reviews` app adds from its scores to Scorer
# (`ReviewScore.scorer = ForeignKey(Scorer, related_name="scores")`); counted as "usage" once it exists.
USAGE_RELATION = "scores"


class ImmutableVersionError(Exception):
    """Raised when code tries to change or delete a stored scorer version."""


class ScorerQuerySet(models.QuerySet):
    def for_project(self, project: Project) -> ScorerQuerySet:
        return self.filter(project=project)

    def active(self) -> ScorerQuerySet:
        return self.filter(archived_at__isnull=True)

    def archived(self) -> ScorerQuerySet:
        return self.filter(archived_at__isnull=False)

    def with_counts(self) -> ScorerQuerySet:
        """Annotate `version_count`, and `usage_count`: scores on active reviews (None while no
        reviews app provides the relation)."""
        qs = self.annotate(version_count=models.Count("versions", distinct=True))
        try:
            Scorer._meta.get_field(USAGE_RELATION)
        except FieldDoesNotExist:
            return qs.annotate(usage_count=models.Value(None, output_field=models.IntegerField()))
        # Scores of deleted reviews no longer count as uses.
        return qs.annotate(
            usage_count=models.Count(
                USAGE_RELATION,
                filter=models.Q(**{f"{USAGE_RELATION}__review__deleted_at__isnull": True}),
                distinct=True,
            )
        )


class Scorer(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="scorers")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=2000)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # RESTRICT: a version cannot go while its scorer points at it, except when the scorer goes too.
    current_version = models.ForeignKey(
        "ScorerVersion", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScorerQuerySet.as_manager()

    class Meta:
        ordering = [Lower("name"), "id"]
        constraints = [
            models.UniqueConstraint(
                models.F("project"),
                Lower("name"),
                condition=models.Q(archived_at__isnull=True),
                name="scorers_scorer_name_unique_active",
                violation_error_message="An active scorer with this name already exists in the project.",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=Kind.values), name="scorers_scorer_kind_valid"
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="scorers_scorer_name_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("scorers:detail", args=[self.project.slug, self.pk])

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def config(self) -> dict[str, Any]:
        return self.current_version.config if self.current_version else {}

    @property
    def summary(self) -> str:
        return describe_config(self.kind, self.config)

    def archive(self) -> None:
        if self.archived_at is None:
            self.archived_at = self.updated_at = timezone.now()
            self.save(update_fields=["archived_at", "updated_at"])

    def unarchive(self) -> None:
        """Raises IntegrityError when an active scorer has taken the name meanwhile."""
        if self.archived_at is not None:
            self.archived_at = None
            self.updated_at = timezone.now()
            self.save(update_fields=["archived_at", "updated_at"])


class ScorerVersionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableVersionError("Scorer versions are never updated.")

    def delete(self):
        raise ImmutableVersionError("Scorer versions are never deleted; archive the scorer instead.")

    # bulk_update() goes through update(); bulk_create() stays allowed (it only inserts).


class ScorerVersion(models.Model):
    scorer = models.ForeignKey(Scorer, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    config = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # PROTECT, not SET_NULL: nulling the author would rewrite history (and the trigger refuses any
    # UPDATE). Deactivate people instead of deleting them.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ScorerVersionQuerySet.as_manager()

    class Meta:
        ordering = ["scorer", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["scorer", "number"], name="scorers_scorerversion_number_unique"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1), name="scorers_scorerversion_number_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scorer} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableVersionError("Scorer versions are never updated; save a new version instead.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return (
            reverse("scorers:history", args=[self.scorer.project.slug, self.scorer_id]) + f"#v{self.number}"
        )

    def delete(self, *args, **kwargs):
        raise ImmutableVersionError("Scorer versions are never deleted; archive the scorer instead.")

    @property
    def summary(self) -> str:
        return describe_config(self.scorer.kind, self.config)
