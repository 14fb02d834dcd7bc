"""save_review / delete_review: every rule of SPEC §4 (runs on SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from queues.models import QueueItem
from queues.services import create_queue, enqueue_trace
from reviews.models import (
    ImmutableRevisionError,
    Review,
    ReviewRevision,
    ReviewScore,
    ReviewScoreOption,
    RevisionAction,
)
from reviews.services import (
    CHANGED_MEANWHILE,
    DELETED_MEANWHILE,
    JUST_REVIEWED,
    ReviewConflict,
    delete_review,
    save_review,
)
from scorers.services import update_scorer
from tests.projects.factories import MembershipFactory
from tests.reviews.factories import OUTCOME, TAGS, TraceFactory, make_review, make_scorer

pytestmark = pytest.mark.django_db


@pytest.fixture
def trace(project):
    return TraceFactory(project=project)


@pytest.fixture
def scorers(project, admin_user):
    return {
        "outcome": make_scorer(project, "Outcome", "categorical", user=admin_user),
        "tags": make_scorer(project, "Issues", "categorical", TAGS, user=admin_user),
        "accuracy": make_scorer(project, "Accuracy", "numeric", user=admin_user),
        "safe": make_scorer(project, "Safe", "boolean", user=admin_user),
    }


@pytest.fixture
def colleague(project):
    return MembershipFactory(project=project, role="reviewer").user


def all_scores(scorers):
    return {
        scorers["outcome"].pk: "resolved",
        scorers["tags"].pk: ["format", "tone"],
        scorers["accuracy"].pk: "4.5",
        scorers["safe"].pk: "true",
    }


def test_create_stores_each_kind_in_its_column_with_a_snapshot(trace, reviewer, scorers):
    review = make_review(trace, reviewer, all_scores(scorers), reasoning="  Polite and right.  ")

    assert review.reasoning == "Polite and right."
    assert review.created_by == reviewer and review.reviewed_by == reviewer
    assert review.revision == 1
    by_name = {s.scorer.name: s for s in review.scores.select_related("scorer")}
    assert by_name["Outcome"].keys == ["resolved"]
    assert by_name["Issues"].keys == ["tone", "format"]  # the options' order, not the submitted one
    assert by_name["Accuracy"].number == Decimal("4.5")
    assert by_name["Safe"].flag is True
    assert by_name["Safe"].display == "Safe"
    for score in by_name.values():
        assert score.version_number == 1
        assert score.scorer_version == score.scorer.current_version
        assert score.config == score.scorer.current_version.config
    keys = set(ReviewScoreOption.objects.values_list("scorer__name", "key"))
    assert keys == {("Outcome", "resolved"), ("Issues", "tone"), ("Issues", "format")}

    revision = review.revisions.get()
    assert (revision.number, revision.action, revision.by) == (1, RevisionAction.SAVE, reviewer)
    assert revision.reasoning == "Polite and right."
    snap = {s["scorer_name"]: s for s in revision.scores}
    assert snap["Accuracy"]["value"] == "4.5"
    assert snap["Outcome"]["config"] == OUTCOME | {"selection": "single"}
    assert snap["Issues"]["display"] == "Tone, Format"


def test_reasoning_only_review_is_valid(trace, reviewer):
    review = make_review(trace, reviewer, reasoning="Looks fine.")
    assert review.scores.count() == 0
    assert review.revisions.get().scores == []


def test_empty_review_marks_the_trace_as_looked_at(trace, reviewer):
    review = make_review(trace, reviewer)
    assert review.reasoning == "" and review.scores.count() == 0
    assert trace.reviews.filter(deleted_at__isnull=True).get() == review


def test_invalid_values_give_errors_per_scorer_and_write_nothing(trace, reviewer, scorers):
    scores = all_scores(scorers) | {
        scorers["accuracy"].pk: "4.25",
        scorers["tags"].pk: ["tone", "facts", "format"],
    }
    with pytest.raises(ValidationError) as excinfo:
        make_review(trace, reviewer, scores, reasoning="x")
    assert set(excinfo.value.error_dict) == {scorers["accuracy"].pk, scorers["tags"].pk}
    assert "multiple of 0.5" in " ".join(excinfo.value.error_dict[scorers["accuracy"].pk][0].messages)
    assert Review.objects.count() == 0 and ReviewRevision.objects.count() == 0


def test_a_scorer_of_another_project_is_unknown(trace, reviewer, other_project):
    foreign = make_scorer(other_project, "Outcome", "categorical")
    with pytest.raises(ValidationError) as excinfo:
        make_review(trace, reviewer, {foreign.pk: "resolved"})
    assert foreign.pk in excinfo.value.error_dict
    assert not Review.objects.exists()


def test_reasoning_too_long_is_refused(trace, reviewer):
    with pytest.raises(ValidationError) as excinfo:
        make_review(trace, reviewer, reasoning="x" * 20_001)
    assert "reasoning" in excinfo.value.error_dict


def test_archived_scorer_is_refused_for_a_new_score(trace, reviewer, scorers):
    scorers["safe"].archive()
    with pytest.raises(ValidationError) as excinfo:
        make_review(trace, reviewer, {scorers["safe"].pk: "true"})
    assert "archived" in excinfo.value.error_dict[scorers["safe"].pk][0].messages[0]


def test_archived_scorer_already_on_the_review_may_stay(trace, reviewer, scorers):
    review = make_review(trace, reviewer, {scorers["safe"].pk: "true"})
    scorers["safe"].archive()
    review = save_review(
        trace=trace, user=reviewer, reasoning="still", scores={scorers["safe"].pk: "false"}, base_revision=1
    )
    assert review.scores.get().flag is False


def test_edit_by_another_user_replaces_the_set_and_changes_the_reviewer(trace, reviewer, colleague, scorers):
    first = make_review(trace, reviewer, all_scores(scorers), reasoning="first")
    edited = save_review(
        trace=trace,
        user=colleague,
        reasoning="second",
        scores={scorers["accuracy"].pk: "2"},
        base_revision=first.revision,
    )
    edited.refresh_from_db()
    assert edited.pk == first.pk
    assert edited.created_by == reviewer
    assert edited.reviewed_by == colleague
    assert edited.updated_at > first.created_at
    assert edited.reasoning == "second"
    assert [(s.scorer.name, s.number) for s in edited.scores.all()] == [("Accuracy", Decimal("2"))]
    assert not ReviewScoreOption.objects.exists()  # the old categorical scores went with the set
    assert list(edited.revisions.order_by("number").values_list("number", "by")) == [
        (1, reviewer.pk),
        (2, colleague.pk),
    ]


def test_edit_keeps_the_pinned_version_and_new_scorers_use_the_current_one(
    trace, reviewer, scorers, admin_user
):
    outcome, accuracy = scorers["outcome"], scorers["accuracy"]
    make_review(trace, reviewer, {outcome.pk: "resolved"})
    # Both scorers gain version 2: Outcome drops "resolved", Accuracy becomes 0-100 by 10.
    update_scorer(
        scorer=outcome,
        name="Outcome",
        config={"options": [{"key": "escalated", "label": "Escalated"}]},
        user=admin_user,
    )
    update_scorer(
        scorer=accuracy, name="Accuracy", config={"min": "0", "max": "100", "step": "10"}, user=admin_user
    )

    review = save_review(
        trace=trace,
        user=reviewer,
        reasoning="",
        scores={outcome.pk: "resolved", accuracy.pk: "70"},
        base_revision=1,
    )
    scores = {s.scorer.name: s for s in review.scores.select_related("scorer")}
    assert scores["Outcome"].version_number == 1  # pinned: "resolved" still valid
    assert scores["Outcome"].keys == ["resolved"]
    assert scores["Accuracy"].version_number == 2  # newly added: current version
    assert scores["Accuracy"].config == {"min": "0", "max": "100", "step": "10"}

    # Against the pinned version 1, a version-2-only value is refused.
    with pytest.raises(ValidationError):
        save_review(
            trace=trace, user=reviewer, reasoning="", scores={outcome.pk: "escalated2"}, base_revision=2
        )


def test_removed_then_readded_scorer_uses_the_current_version(trace, reviewer, scorers, admin_user):
    outcome = scorers["outcome"]
    make_review(trace, reviewer, {outcome.pk: "resolved"})
    update_scorer(scorer=outcome, name="Outcome", config={"options": ["Fine", "Bad"]}, user=admin_user)
    save_review(trace=trace, user=reviewer, reasoning="", scores={}, base_revision=1)
    review = save_review(
        trace=trace, user=reviewer, reasoning="", scores={outcome.pk: "fine"}, base_revision=2
    )
    assert review.scores.get().version_number == 2


def test_review_renders_the_same_after_its_scorer_is_archived_and_relabelled(
    trace, reviewer, scorers, admin_user
):
    outcome = scorers["outcome"]
    review = make_review(trace, reviewer, {outcome.pk: "resolved", scorers["safe"].pk: "false"})
    before = [s.display for s in Review.objects.with_scores().get(pk=review.pk).scores.all()]
    assert before == ["Resolved", "Unsafe"]

    relabelled = [dict(o, label=o["label"].upper()) for o in OUTCOME["options"]]
    update_scorer(scorer=outcome, name="Outcome", config={"options": relabelled}, user=admin_user)
    update_scorer(
        scorer=scorers["safe"],
        name="Safe",
        config={"true_label": "OK", "false_label": "Bad"},
        user=admin_user,
    )
    outcome.archive()

    after = [s.display for s in Review.objects.with_scores().get(pk=review.pk).scores.all()]
    assert after == before


def test_stale_base_revision_is_a_conflict_saying_what_changed(trace, reviewer, colleague, scorers):
    make_review(trace, reviewer, {scorers["accuracy"].pk: "3"}, reasoning="ok")
    save_review(
        trace=trace,
        user=colleague,
        reasoning="not ok",
        scores={scorers["accuracy"].pk: "1.5", scorers["safe"].pk: "false"},
        base_revision=1,
    )
    with pytest.raises(ReviewConflict) as excinfo:
        save_review(trace=trace, user=reviewer, reasoning="mine", scores={}, base_revision=1)
    conflict = excinfo.value
    assert conflict.message == CHANGED_MEANWHILE
    assert conflict.revision == 2
    text = " ".join(conflict.changes)
    assert colleague.username in text
    assert "Accuracy: 3 → 1.5" in text and "Safe: set to Unsafe" in text and "Reasoning" in text
    review = Review.objects.get()
    assert review.reasoning == "not ok" and review.revision == 2
    assert ReviewRevision.objects.count() == 2


def test_first_save_over_an_existing_review_is_refused(trace, reviewer, colleague):
    make_review(trace, colleague, reasoning="theirs")
    with pytest.raises(ReviewConflict) as excinfo:
        make_review(trace, reviewer, reasoning="mine")
    assert excinfo.value.message == JUST_REVIEWED
    assert Review.objects.get().reasoning == "theirs"


def test_saving_with_the_conflict_revision_as_base_overwrites_deliberately(trace, reviewer, colleague):
    make_review(trace, colleague, reasoning="theirs")
    try:
        make_review(trace, reviewer, reasoning="mine")
    except ReviewConflict as conflict:
        review = make_review(trace, reviewer, reasoning="mine", base_revision=conflict.revision)
    assert review.reasoning == "mine" and review.revision == 2


def test_delete_then_review_again(trace, reviewer, colleague, scorers):
    review = make_review(trace, reviewer, {scorers["outcome"].pk: "resolved"}, reasoning="old")
    deleted = delete_review(review=review, user=colleague, base_revision=1)
    assert deleted.deleted_at is not None and deleted.deleted_by == colleague
    assert not Review.objects.active().exists()
    delete_rev = ReviewRevision.objects.get(number=2)
    assert delete_rev.action == RevisionAction.DELETE and delete_rev.by == colleague
    assert delete_rev.scores[0]["value"] == ["resolved"]

    # A form still showing the deleted review cannot save over nothing silently.
    with pytest.raises(ReviewConflict) as excinfo:
        make_review(trace, reviewer, reasoning="edit of old", base_revision=1)
    assert excinfo.value.message == DELETED_MEANWHILE
    assert "deleted" in excinfo.value.changes[0]

    again = make_review(trace, reviewer, reasoning="new")
    assert again.pk != review.pk and again.revision == 3
    assert Review.objects.count() == 2
    assert list(
        ReviewRevision.objects.filter(trace=trace).order_by("number").values_list("number", "action")
    ) == [
        (1, "save"),
        (2, "delete"),
        (3, "save"),
    ]
    # The old review keeps its scores for the history.
    assert review.scores.count() == 1


def test_delete_from_a_stale_base_is_a_conflict(trace, reviewer, colleague):
    review = make_review(trace, reviewer, reasoning="a")
    save_review(trace=trace, user=colleague, reasoning="b", scores={}, base_revision=1)
    with pytest.raises(ReviewConflict):
        delete_review(review=review, user=reviewer, base_revision=1)
    assert Review.objects.active().count() == 1


def test_deleting_twice_is_a_conflict(trace, reviewer):
    review = make_review(trace, reviewer)
    delete_review(review=review, user=reviewer, base_revision=1)
    with pytest.raises(ReviewConflict) as excinfo:
        delete_review(review=review, user=reviewer, base_revision=2)
    assert excinfo.value.message == DELETED_MEANWHILE


def test_saving_closes_the_pending_queue_item_in_the_same_transaction(project, trace, reviewer):
    queue = create_queue(project=project, name="Inbox", user=reviewer)
    enqueue_trace(queue=queue, trace=trace, user=reviewer)
    assert QueueItem.objects.pending().filter(trace=trace).exists()
    make_review(trace, reviewer, reasoning="done")
    assert not QueueItem.objects.pending().filter(trace=trace).exists()


def test_a_refused_save_leaves_the_queue_item_pending(project, trace, reviewer, scorers):
    queue = create_queue(project=project, name="Inbox", user=reviewer)
    enqueue_trace(queue=queue, trace=trace, user=reviewer)
    with pytest.raises(ValidationError):
        make_review(trace, reviewer, {scorers["accuracy"].pk: "99"})
    assert QueueItem.objects.pending().filter(trace=trace).exists()


# -- database constraints ----------------------------------------------------------------------


def test_database_allows_one_active_review_per_trace(trace, reviewer):
    make_review(trace, reviewer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(project=trace.project, trace=trace, created_by=reviewer, reviewed_by=reviewer)


def test_database_refuses_a_value_in_the_wrong_column(trace, reviewer, scorers):
    review = make_review(trace, reviewer, {scorers["accuracy"].pk: "3"})
    score = review.scores.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewScore.objects.filter(pk=score.pk).update(flag=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewScore.objects.filter(pk=score.pk).update(number=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewScore.objects.filter(pk=score.pk).update(kind="boolean")


def test_database_allows_one_score_per_scorer(trace, reviewer, scorers):
    review = make_review(trace, reviewer, {scorers["accuracy"].pk: "3"})
    score = review.scores.get()
    score.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        score.save()


def test_revisions_are_never_changed(trace, reviewer):
    review = make_review(trace, reviewer, reasoning="a")
    revision = review.revisions.get()
    revision.reasoning = "rewritten"
    with pytest.raises(ImmutableRevisionError):
        revision.save()
    with pytest.raises(ImmutableRevisionError):
        ReviewRevision.objects.update(reasoning="x")
    with pytest.raises(ImmutableRevisionError):
        revision.delete()


def test_database_refuses_to_update_a_revision(trace, reviewer):
    review = make_review(trace, reviewer, reasoning="a")
    revision = review.revisions.get()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE reviews_reviewrevision SET reasoning = 'rewritten' WHERE id = %s", [revision.pk]
        )
    assert ReviewRevision.objects.get().reasoning == "a"


def test_deleting_a_project_still_removes_its_reviews(project, trace, reviewer):
    make_review(trace, reviewer, reasoning="a")
    project.delete()
    assert not ReviewRevision.objects.exists() and not Review.objects.exists()


def test_the_same_scorer_twice_or_absurd_ids_are_refused_not_a_crash(trace, reviewer, scorers):
    accuracy = scorers["accuracy"].pk
    with pytest.raises(ValidationError) as excinfo:
        make_review(trace, reviewer, {accuracy: "3", str(accuracy): "4"})
    assert "one value per scorer" in str(excinfo.value)
    with pytest.raises(ValidationError):
        make_review(trace, reviewer, {10**30: "3", "not-an-id": "1"})
    assert not Review.objects.exists()


def test_an_absurd_base_revision_is_a_conflict(trace, reviewer):
    make_review(trace, reviewer)
    with pytest.raises(ReviewConflict):
        make_review(trace, reviewer, reasoning="x", base_revision=10**30)
