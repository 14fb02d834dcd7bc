"""Saving and deleting reviews (SPEC §4): the only code that writes reviews, scores and revisions.

Each runs in one transaction (`save_review` also closes the trace's pending queue item in it), and
both refuse to overwrite a state the caller has not seen: the caller passes the revision number its
form was based on (`None` when it saw no review), and a mismatch raises `ReviewConflict` saying
what changed, without writing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from queues.services import close_item_for_trace
from reviews.models import (
    REASONING_MAX_LENGTH,
    Review,
    ReviewRevision,
    ReviewScore,
    ReviewScoreOption,
    RevisionAction,
)
from scorers.configs import Kind, validate_value
from scorers.models import Scorer, ScorerVersion
from tracereview.params import parse_int
from traces.models import Trace

JUST_REVIEWED = "Someone just reviewed this trace."
MAX_REVISION = 2**31 - 1  # PositiveIntegerField's range on every database
CHANGED_MEANWHILE = "This review was changed while you were editing it."
DELETED_MEANWHILE = "This review was deleted while you were editing it."
# The posted base revision is no revision of this trace: a forged or mangled form, not a race.
OUT_OF_DATE = "This form is out of date: reload the trace and review it again."


@dataclass(eq=False)
class ReviewConflict(Exception):
    """The review is no longer in the state the caller's form was based on.

    `changes` lists what differs from that state in words; `revision` is the trace's latest
    revision number, which a form adopts as its new base to save over it deliberately.
    """

    message: str
    changes: list[str] = field(default_factory=list)
    review: Review | None = None
    revision: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ScoreSource:
    """The scorer version a score is (or would be) validated against, and its config snapshot."""

    scorer: Scorer
    version: ScorerVersion | None
    version_number: int
    config: dict[str, Any]
    pinned: bool

    @property
    def kind(self) -> str:
        return self.scorer.kind


def score_sources(*, review: Review | None, scorers: list[Scorer]) -> dict[int, ScoreSource]:
    """For each scorer, the version a score for it uses on `review`.

    Scorers already on the review stay on their pinned version (and its snapshot); others use
    their current version. Used by the save and by the form, so both validate alike.
    """
    pinned: dict[int, ReviewScore] = {}
    if review is not None:
        pinned = {score.scorer_id: score for score in review.scores.all()}
    sources = {}
    for scorer in scorers:
        score = pinned.get(scorer.pk)
        if score is not None:
            sources[scorer.pk] = ScoreSource(
                scorer, score.scorer_version, score.version_number, score.config, pinned=True
            )
        elif scorer.current_version is not None:
            version = scorer.current_version
            sources[scorer.pk] = ScoreSource(scorer, version, version.number, version.config, pinned=False)
    return sources


@transaction.atomic
def save_review(
    *,
    trace: Trace,
    user,
    reasoning: str = "",
    scores: Mapping[int, Any],
    base_revision: int | None,
) -> Review:
    """Create the trace's review, or replace the active one's reasoning and score set.

    `scores` maps scorer ids to raw values (as a form posts them). Raises ValidationError with a
    dict keyed by scorer id (and "reasoning") when values are invalid, and ReviewConflict when the
    review changed since `base_revision`. Nothing is written in either case.
    """
    reasoning = (reasoning or "").strip()
    # Lock the active review: two editors saving from the same base must not both pass the check.
    review = (
        Review.objects.select_for_update()
        .filter(trace=trace, deleted_at__isnull=True)
        .prefetch_related("scores")
        .first()
    )
    _check_base(trace, review, base_revision)

    validated = _validate(trace=trace, review=review, reasoning=reasoning, scores=scores)

    now = timezone.now()
    number = _next_revision_number(trace, review)
    if review is None:
        review = Review(
            project=trace.project,
            trace=trace,
            reasoning=reasoning,
            created_by=user,
            reviewed_by=user,
            created_at=now,
            updated_at=now,
            revision=number,
        )
        try:
            # A savepoint: losing the race on reviews_review_one_active_per_trace must leave the
            # outer transaction usable, and turn into the same message as the check above.
            with transaction.atomic():
                review.save(force_insert=True)
        except IntegrityError:
            raise _conflict(trace, None, JUST_REVIEWED) from None
    else:
        review.reasoning = reasoning
        review.reviewed_by = user
        review.updated_at = now
        review.revision = number
        review.save(update_fields=["reasoning", "reviewed_by", "updated_at", "revision"])
        # Edit replaces the whole set (SPEC §4); options go with their scores (CASCADE).
        review.scores.all().delete()

    created = _write_scores(review, validated)
    ReviewRevision.objects.create(
        review=review,
        trace=trace,
        number=number,
        action=RevisionAction.SAVE,
        by=user,
        at=now,
        reasoning=reasoning,
        scores=[score.snapshot() for score in created],
    )
    close_item_for_trace(trace=trace, reason="reviewed", by=user)
    # Fresh caches for the caller: the prefetched scores are the old set.
    review._prefetched_objects_cache = {}
    return review


@transaction.atomic
def delete_review(*, review: Review, user, base_revision: int | None) -> Review:
    """Soft-delete the review (the trace may then be reviewed again) and record a revision."""
    locked = Review.objects.select_for_update().filter(pk=review.pk, deleted_at__isnull=True).first()
    trace = review.trace
    if locked is None:
        raise _conflict(trace, None, _stale(trace, base_revision, DELETED_MEANWHILE), base_revision)
    if base_revision != locked.revision:
        raise _conflict(trace, locked, _stale(trace, base_revision, CHANGED_MEANWHILE), base_revision)
    now = timezone.now()
    number = _next_revision_number(trace, locked)
    locked.deleted_at = now
    locked.deleted_by = user
    locked.revision = number
    locked.save(update_fields=["deleted_at", "deleted_by", "revision"])
    scores = locked.scores.select_related("scorer").in_display_order()
    ReviewRevision.objects.create(
        review=locked,
        trace=trace,
        number=number,
        action=RevisionAction.DELETE,
        by=user,
        at=now,
        reasoning=locked.reasoning,
        scores=[score.snapshot() for score in scores],
    )
    return locked


# -- helpers ------------------------------------------------------------------------------------


def _check_base(trace: Trace, review: Review | None, base_revision: int | None) -> None:
    if review is None:
        if base_revision is not None:
            # The form showed a review that has since been deleted (if that revision exists).
            raise _conflict(trace, None, _stale(trace, base_revision, DELETED_MEANWHILE), base_revision)
        return
    if base_revision is None:
        raise _conflict(trace, review, JUST_REVIEWED, None)
    if base_revision != review.revision:
        raise _conflict(trace, review, _stale(trace, base_revision, CHANGED_MEANWHILE), base_revision)


def _stale(trace: Trace, base_revision: int | None, message: str) -> str:
    """`message` (deleted / changed meanwhile) when the form was based on a real revision of this
    trace; OUT_OF_DATE when it names none, so nobody is told of a change that never happened."""
    known = (
        base_revision is not None
        and 0 < base_revision <= MAX_REVISION
        and ReviewRevision.objects.filter(trace=trace, number=base_revision).exists()
    )
    return message if known else OUT_OF_DATE


def _validate(
    *, trace: Trace, review: Review | None, reasoning: str, scores: Mapping[int, Any]
) -> list[tuple[ScoreSource, Any]]:
    errors: dict[Any, list[str]] = {}
    if len(reasoning) > REASONING_MAX_LENGTH:
        errors["reasoning"] = [f"Reasoning has at most {REASONING_MAX_LENGTH:,} characters."]

    by_id: dict[int, Any] = {}
    for raw_id, raw in scores.items():
        scorer_id = parse_int(raw_id)
        if scorer_id is None:
            errors.setdefault(raw_id, []).append("Unknown scorer.")
            continue
        if scorer_id in by_id:
            errors.setdefault(scorer_id, []).append("Give one value per scorer.")
        by_id[scorer_id] = raw
    # Out-of-range ids cannot be scorers (and SQLite refuses them as parameters).
    ids = [pk for pk in by_id if 0 < pk < 2**63]
    found = {
        scorer.pk: scorer
        for scorer in Scorer.objects.for_project(trace.project)
        .filter(pk__in=ids)
        .select_related("current_version")
    }
    sources = score_sources(review=review, scorers=list(found.values()))

    validated = []
    for scorer_id, raw in by_id.items():
        source = sources.get(scorer_id)
        if source is None:
            errors.setdefault(scorer_id, []).append("Unknown scorer: it is not part of this project.")
            continue
        if source.scorer.is_archived and not source.pinned:
            errors.setdefault(scorer_id, []).append(
                f"“{source.scorer.name}” is archived: it cannot be added to a review."
            )
            continue
        try:
            value = validate_value(source.kind, source.config, raw)
        except ValidationError as e:
            errors.setdefault(scorer_id, []).extend(e.messages)
            continue
        validated.append((source, value))
    if errors:
        raise ValidationError(errors)
    return validated


def _write_scores(review: Review, validated: list[tuple[ScoreSource, Any]]) -> list[ReviewScore]:
    created = []
    for source, value in validated:
        score = ReviewScore(
            review=review,
            scorer=source.scorer,
            scorer_version=source.version,
            version_number=source.version_number,
            config=source.config,
            kind=source.kind,
        )
        score.set_value(value)
        created.append(score)
    # One INSERT each for scores and options; bulk_create sets pks on both supported databases.
    ReviewScore.objects.bulk_create(created)
    ReviewScoreOption.objects.bulk_create(
        ReviewScoreOption(score=score, scorer_id=score.scorer_id, key=key)
        for score in created
        if score.kind == Kind.CATEGORICAL
        for key in score.keys
    )
    return created


def _next_revision_number(trace: Trace, review: Review | None) -> int:
    """Per-trace numbering. Writers are ordered by the active review's row lock (edits, deletes)
    or by reviews_review_one_active_per_trace (first saves); the unique (trace, number) backs both."""
    return (ReviewRevision.objects.filter(trace=trace).aggregate(n=Max("number"))["n"] or 0) + 1


def _conflict(
    trace: Trace, review: Review | None, message: str, base_revision: int | None = None
) -> ReviewConflict:
    """A ReviewConflict describing how the trace's review differs from `base_revision`."""
    latest = ReviewRevision.objects.filter(trace=trace).select_related("by").order_by("-number").first()
    base = None
    if base_revision is not None and 0 < base_revision <= MAX_REVISION:
        base = ReviewRevision.objects.filter(trace=trace, number=base_revision).first()
    changes: list[str] = []
    if latest is not None and (base is None or latest.number != base.number):
        who = latest.by.get_username()
        verb = "deleted" if latest.is_delete else "saved"
        changes.append(f"{who} {verb} the review {naturaltime(latest.at)}.")
        if not latest.is_delete:
            changes.extend(describe_changes(base, latest))
    return ReviewConflict(message, changes=changes, review=review, revision=latest.number if latest else None)


def describe_changes(before: ReviewRevision | None, after: ReviewRevision) -> list[str]:
    """What differs between two revisions, in words, score by score."""
    if before is None or before.is_delete:
        old_scores: dict[int, dict] = {}
        old_reasoning = ""
    else:
        old_scores = {s["scorer_id"]: s for s in before.scores}
        old_reasoning = before.reasoning
    new_scores = {s["scorer_id"]: s for s in after.scores}
    changes = []
    for scorer_id, new in new_scores.items():
        old = old_scores.get(scorer_id)
        if old is None:
            changes.append(f"{new['scorer_name']}: set to {new['display']}")
        elif old["value"] != new["value"]:
            changes.append(f"{new['scorer_name']}: {old['display']} → {new['display']}")
    for scorer_id, old in old_scores.items():
        if scorer_id not in new_scores:
            changes.append(f"{old['scorer_name']}: removed (was {old['display']})")
    if old_reasoning != after.reasoning:
        changes.append("Reasoning: changed" if after.reasoning else "Reasoning: removed")
    return changes
