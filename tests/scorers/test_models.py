"""Scorer constraints and the immutability of versions, in Python and in the database."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from projects.models import Project
from scorers.models import ImmutableVersionError, Scorer, ScorerVersion
from tests.scorers.factories import make_scorer

pytestmark = pytest.mark.django_db


def test_names_are_unique_per_project_case_insensitively_among_active(project, other_project):
    make_scorer(project, name="Accuracy")
    with pytest.raises(IntegrityError), transaction.atomic():
        Scorer.objects.create(project=project, name="ACCURACY", kind="numeric")
    # Another project may use the name; so may the project once the first one is archived.
    Scorer.objects.create(project=other_project, name="accuracy", kind="numeric")
    Scorer.objects.get(project=project).archive()
    Scorer.objects.create(project=project, name="accuracy", kind="numeric")


def test_kind_and_name_are_checked_by_the_database(project):
    with pytest.raises(IntegrityError), transaction.atomic():
        Scorer.objects.create(project=project, name="X", kind="rating")
    with pytest.raises(IntegrityError), transaction.atomic():
        Scorer.objects.create(project=project, name="", kind="boolean")


def test_version_numbers_are_unique_per_scorer(project):
    scorer = make_scorer(project)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScorerVersion.objects.create(scorer=scorer, number=1, config={})
    other = make_scorer(project)
    assert other.current_version.number == 1


def test_a_version_refuses_to_be_saved_again(project):
    version = make_scorer(project).current_version
    version.config = {"options": []}
    with pytest.raises(ImmutableVersionError):
        version.save()
    version.refresh_from_db()
    assert version.config["options"][0]["label"] == "Resolved"


def test_a_version_refuses_to_be_deleted(project):
    version = make_scorer(project).current_version
    with pytest.raises(ImmutableVersionError):
        version.delete()
    with pytest.raises(ImmutableVersionError):
        ScorerVersion.objects.filter(pk=version.pk).delete()
    assert ScorerVersion.objects.filter(pk=version.pk).exists()


def test_queryset_update_and_bulk_update_are_refused(project):
    version = make_scorer(project).current_version
    with pytest.raises(ImmutableVersionError):
        ScorerVersion.objects.filter(pk=version.pk).update(config={})
    version.number = 7
    with pytest.raises(ImmutableVersionError), transaction.atomic():
        ScorerVersion.objects.bulk_update([version], ["number"])
    version.refresh_from_db()
    assert version.number == 1


def test_the_database_refuses_an_update_that_bypasses_the_model(project):
    version = make_scorer(project).current_version
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scorers_scorerversion SET config = %s WHERE id = %s", ['{"options": []}', version.pk]
        )
    version.refresh_from_db()
    assert version.config["options"][0]["label"] == "Resolved"


@pytest.mark.postgres
def test_postgres_refuses_deleting_a_version_of_a_living_scorer(project):
    version = make_scorer(project).current_version
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scorers_scorer SET current_version_id = NULL WHERE id = %s", [version.scorer_id]
        )
        cursor.execute("DELETE FROM scorers_scorerversion WHERE id = %s", [version.pk])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the guard runs at commit; run it now
    assert ScorerVersion.objects.filter(pk=version.pk).exists()


@pytest.mark.postgres
def test_deleting_a_whole_project_still_cascades_through_its_versions(project):
    # Scorers are never deleted in the app, but a superuser removing a project (shell, admin of
    # projects without scorers) must not be blocked by the version guard.
    scorer = make_scorer(project)
    with transaction.atomic():
        Project.objects.filter(pk=project.pk).delete()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not ScorerVersion.objects.filter(scorer_id=scorer.pk).exists()


def test_with_counts_reports_versions_and_usage(project):
    scorer = make_scorer(project)
    annotated = Scorer.objects.with_counts().get(pk=scorer.pk)
    assert annotated.version_count == 1
    assert annotated.usage_count == 0  # no review has scored with it yet
