"""Versioning: version 1 on create, N+1 on a changed config, nothing on an unchanged one."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, transaction

from scorers import services
from scorers.models import Scorer, ScorerVersion
from tests.scorers.factories import CATEGORICAL, make_scorer


@pytest.mark.django_db
def test_create_makes_version_one_with_generated_keys(project, admin_user):
    scorer = make_scorer(project, name=" Outcome ", user=admin_user)
    assert scorer.name == "Outcome"
    assert scorer.current_version.number == 1
    assert scorer.current_version.created_by == admin_user
    assert [o["key"] for o in scorer.config["options"]] == ["resolved", "escalated", "wrong_answer"]


@pytest.mark.django_db
def test_create_refuses_an_invalid_config_and_writes_nothing(project):
    with pytest.raises(ValidationError):
        services.create_scorer(project=project, kind="categorical", name="X", config={"options": []})
    assert not Scorer.objects.exists()


@pytest.mark.django_db
def test_create_refuses_a_taken_name(project):
    make_scorer(project, name="Accuracy", kind="numeric")
    with pytest.raises(ValidationError) as info:
        make_scorer(project, name="accuracy", kind="numeric")
    assert info.value.message_dict == {
        "name": ["An active scorer named “accuracy” already exists in this project."]
    }


@pytest.mark.django_db
def test_changed_config_makes_the_next_version_current_and_keeps_the_old_one(project, admin_user):
    scorer = make_scorer(project)
    options = [dict(o) for o in scorer.config["options"]]
    options[0]["label"] = "Solved"
    options.append({"key": "", "label": "Resolved"})
    scorer, version = services.update_scorer(
        scorer=scorer, name=scorer.name, config={"options": options, "selection": "single"}, user=admin_user
    )
    assert version.number == 2 and scorer.current_version == version
    # The renamed option keeps its key; a new option with the old label gets a fresh one.
    assert version.config["options"][0] == {"key": "resolved", "label": "Solved"}
    assert version.config["options"][-1] == {"key": "resolved_2", "label": "Resolved"}
    assert ScorerVersion.objects.get(scorer=scorer, number=1).config["options"][0]["label"] == "Resolved"


@pytest.mark.django_db
def test_unchanged_config_makes_no_version_but_metadata_changes_in_place(project):
    scorer = make_scorer(project, name="Outcome")
    scorer, version = services.update_scorer(
        scorer=scorer, name="Result", description="What happened", config=scorer.config
    )
    assert version is None
    assert scorer.versions.count() == 1
    scorer.refresh_from_db()
    assert (scorer.name, scorer.description) == ("Result", "What happened")


@pytest.mark.django_db
def test_the_kind_cannot_change(project):
    scorer = make_scorer(project, kind="boolean")
    # A numeric config is not a boolean config: the scorer's kind decides how it is validated.
    with pytest.raises(ValidationError):
        services.update_scorer(scorer=scorer, name=scorer.name, config={"min": "1"})
    scorer.refresh_from_db()
    assert scorer.kind == "boolean" and scorer.versions.count() == 1


@pytest.mark.django_db
def test_unarchive_refuses_when_the_name_was_taken(project):
    old = make_scorer(project, name="Tone", kind="boolean")
    old.archive()
    make_scorer(project, name="tone", kind="boolean")
    with pytest.raises(ValidationError, match="Rename one of them first"):
        services.unarchive_scorer(scorer=old)
    old.refresh_from_db()
    assert old.is_archived


def _config(label: str) -> dict:
    return {"options": [*CATEGORICAL["options"], {"label": label}], "selection": "single"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_save_waits_for_a_concurrent_one_and_becomes_the_version_after_it(project):
    """Deterministic race: A holds the scorer lock (uncommitted N+1) while B saves.

    Without the row lock, B would read N as the last number too, insert N+1 and fail on the
    unique constraint once A commits."""
    scorer = make_scorer(project)
    a_saved, release_a = threading.Event(), threading.Event()
    results, errors = {}, []

    def save(name: str, label: str, hold: bool) -> None:
        try:
            with transaction.atomic():
                _, version = services.update_scorer(scorer=scorer, name=scorer.name, config=_config(label))
                results[name] = version.number
                if hold:
                    a_saved.set()
                    release_a.wait(10)
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)
        finally:
            connection.close()

    a = threading.Thread(target=save, args=("a", "First", True))
    a.start()
    assert a_saved.wait(10)
    b = threading.Thread(target=save, args=("b", "Second", False))
    b.start()
    b.join(0.5)
    assert b.is_alive(), "B must wait for A's lock"
    release_a.set()
    a.join(10)
    b.join(10)
    assert errors == []
    assert results == {"a": 2, "b": 3}
    assert list(scorer.versions.order_by("number").values_list("number", flat=True)) == [1, 2, 3]
    scorer.refresh_from_db()
    assert scorer.current_version.number == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_saving_at_the_same_moment_get_n_plus_1_and_n_plus_2(project, admin_user):
    from django.test import Client

    scorer = make_scorer(project)
    url = scorer.get_absolute_url()
    barrier = threading.Barrier(2)
    statuses = []

    def post(label: str) -> None:
        client = Client()
        client.force_login(admin_user)
        rows = [*CATEGORICAL["options"], {"label": label}]
        data = {
            "name": scorer.name,
            "selection": "single",
            "option_key": [""] * len(rows),
            "option_label": [row["label"] for row in rows],
        }
        try:
            barrier.wait(5)
            statuses.append(client.post(url, data).status_code)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=post, args=(label,)) for label in ("First", "Second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert statuses == [302, 302]
    numbers = sorted(scorer.versions.values_list("number", flat=True))
    assert numbers == [1, 2, 3]
    labels = {v.config["options"][-1]["label"] for v in scorer.versions.filter(number__gt=1)}
    assert labels == {"First", "Second"}


@pytest.mark.django_db
def test_renaming_onto_another_active_scorer_is_refused(project):
    make_scorer(project, name="Tone", kind="boolean")
    other = make_scorer(project, name="Safety", kind="boolean")
    with pytest.raises(ValidationError) as info:
        services.update_scorer(scorer=other, name="TONE", config=other.config)
    assert info.value.message_dict == {"name": ["An active scorer named “TONE” already exists in this project."]}
    other.refresh_from_db()
    assert other.name == "Safety"
