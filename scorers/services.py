"""Writes that touch a scorer and its versions together: create, and save with versioning."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from projects.models import Project
from scorers.configs import validate_config
from scorers.models import Scorer, ScorerVersion

NAME_TAKEN = "An active scorer named “{name}” already exists in this project."


def name_taken(project: Project, name: str, *, exclude: Scorer | None = None) -> bool:
    qs = Scorer.objects.for_project(project).active().filter(name__iexact=name.strip())
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.exists()


@transaction.atomic
def create_scorer(
    *, project: Project, kind: str, name: str, description: str = "", config: Any, user=None
) -> Scorer:
    """Create a scorer with its version 1. Raises ValidationError (config or name)."""
    config = validate_config(kind, config)
    name = name.strip()
    if name_taken(project, name):
        raise ValidationError({"name": NAME_TAKEN.format(name=name)})
    try:
        # A savepoint, so that a lost race on the name leaves the outer transaction usable.
        with transaction.atomic():
            scorer = Scorer.objects.create(
                project=project, kind=kind, name=name, description=description.strip(), created_by=user
            )
    except IntegrityError:
        raise ValidationError({"name": NAME_TAKEN.format(name=name)}) from None
    version = ScorerVersion.objects.create(scorer=scorer, number=1, config=config, created_by=user)
    scorer.current_version = version
    scorer.save(update_fields=["current_version"])
    return scorer


@transaction.atomic
def update_scorer(
    *, scorer: Scorer, name: str, description: str = "", config: Any, user=None
) -> tuple[Scorer, ScorerVersion | None]:
    """Save metadata in place and, when the config changed, a new current version.

    Returns the scorer and the new version (None when the config was unchanged). The kind never
    changes. Raises ValidationError (config or name).
    """
    # Lock the scorer row: two admins saving at once must get versions N+1 and N+2, not two N+1s.
    locked = (
        Scorer.objects.select_for_update(of=("self",)).select_related("current_version").get(pk=scorer.pk)
    )
    config = validate_config(locked.kind, config)
    name = name.strip()
    if locked.archived_at is None and name_taken(locked.project, name, exclude=locked):
        raise ValidationError({"name": NAME_TAKEN.format(name=name)})

    version = None
    current = locked.current_version
    if current is None or current.config != config:
        last = locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = ScorerVersion.objects.create(scorer=locked, number=last + 1, config=config, created_by=user)
        locked.current_version = version

    fields = []
    if version is not None:
        fields.append("current_version")
    if (name, description.strip()) != (locked.name, locked.description):
        locked.name, locked.description = name, description.strip()
        fields += ["name", "description"]
    if fields:
        locked.updated_at = timezone.now()
        try:
            with transaction.atomic():
                locked.save(update_fields=[*fields, "updated_at"])
        except IntegrityError:
            raise ValidationError({"name": NAME_TAKEN.format(name=name)}) from None
    return locked, version


def unarchive_scorer(*, scorer: Scorer) -> None:
    """Bring an archived scorer back. Raises ValidationError when its name is taken meanwhile."""
    if name_taken(scorer.project, scorer.name, exclude=scorer):
        raise ValidationError(NAME_TAKEN.format(name=scorer.name) + " Rename one of them first.")
    try:
        with transaction.atomic():
            scorer.unarchive()
    except IntegrityError:
        raise ValidationError(NAME_TAKEN.format(name=scorer.name) + " Rename one of them first.") from None
