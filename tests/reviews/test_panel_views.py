"""The review panel's views: access, the form round trips, save, conflicts, delete, history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reviews.models import Review, ReviewRevision
from tests.projects.factories import MembershipFactory
from tests.reviews.factories import TraceFactory, make_review, make_scorer

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def trace(project):
    # Characters PostHog allows in trace ids, including "/" and ":".
    return TraceFactory(project=project, trace_id="conv:42/turn (3)!", name="<b>support</b> chat")


@pytest.fixture
def scorers(project):
    return {
        "outcome": make_scorer(project, "Outcome", "categorical"),
        "accuracy": make_scorer(project, "Accuracy", "numeric"),
        "safe": make_scorer(project, "Safe", "boolean"),
    }


def panel_url(trace):
    return reverse("reviews:panel", args=[trace.project.slug, trace.trace_id])


def delete_url(trace):
    return reverse("reviews:delete", args=[trace.project.slug, trace.trace_id])


def form_data(scorers, **overrides):
    data = {
        "scorer": [scorers["outcome"].pk, scorers["accuracy"].pk, scorers["safe"].pk],
        f"score_{scorers['outcome'].pk}": "resolved",
        f"score_{scorers['accuracy'].pk}": "4.5",
        f"score_{scorers['safe'].pk}": "true",
        "reasoning": "Polite and correct.",
        "save": "1",
    }
    data.update(overrides)
    return data


# -- access --------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, trace):
    for url in (panel_url(trace), delete_url(trace)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.post(panel_url(trace), {"save": "1"}).status_code == 302
    assert not Review.objects.exists()


def test_member_of_another_project_gets_404(client, outsider, trace):
    client.force_login(outsider)
    assert client.get(panel_url(trace)).status_code == 404
    assert client.get(panel_url(trace), **HTMX).status_code == 404
    assert client.post(panel_url(trace), {"save": "1"}, **HTMX).status_code == 404
    assert client.post(delete_url(trace), {}).status_code == 404
    assert not Review.objects.exists()


def test_unknown_trace_is_404(reviewer_client, project):
    assert reviewer_client.get(reverse("reviews:panel", args=[project.slug, "nope"])).status_code == 404
    nul = reverse("reviews:panel", args=[project.slug, "a\x00b"])
    assert reviewer_client.get(nul).status_code == 404
    assert reviewer_client.post(nul, {"save": "1"}).status_code == 404


def test_viewer_reads_but_cannot_write(client, viewer, trace, reviewer):
    review = make_review(trace, reviewer, reasoning="seen by viewer")
    client.force_login(viewer)
    response = client.get(panel_url(trace), **HTMX)
    assert response.status_code == 200
    assert "seen by viewer" in response.text
    assert "Edit review" not in response.text and "Delete" not in response.text
    assert client.get(panel_url(trace) + "?mode=edit", **HTMX).status_code == 403
    assert client.post(panel_url(trace), {"save": "1", "reasoning": "x"}, **HTMX).status_code == 403
    assert client.post(panel_url(trace), {"save": "1", "reasoning": "x"}).status_code == 403
    assert client.post(delete_url(trace), {"base_revision": review.revision}).status_code == 403
    assert Review.objects.active().get().reasoning == "seen by viewer"


# -- panel ---------------------------------------------------------------------------------------


def test_unreviewed_trace_shows_a_review_button(reviewer_client, trace):
    response = reviewer_client.get(panel_url(trace), **HTMX)
    assert response.status_code == 200
    assert "Not reviewed yet." in response.text and ">Review</a>" in response.text
    assert "<html" not in response.text  # the fragment only


def test_full_page_without_htmx_escapes_trace_content(reviewer_client, trace):
    response = reviewer_client.get(panel_url(trace) + "?mode=edit")
    assert response.status_code == 200
    assert "<html" in response.text
    assert "<b>support</b>" not in response.text and "&lt;b&gt;support&lt;/b&gt;" in response.text


def test_form_renders_each_control_from_the_snapshot(reviewer_client, trace, scorers, reviewer):
    make_review(trace, reviewer, {scorers["outcome"].pk: "escalated", scorers["accuracy"].pk: "3"})
    response = reviewer_client.get(panel_url(trace) + "?mode=edit", **HTMX)
    text = response.text
    assert f'type="radio" name="score_{scorers["outcome"].pk}" value="escalated" checked' in text
    assert 'min="1"' in text and 'max="5"' in text and 'step="0.5"' in text and 'value="3"' in text
    assert 'name="base_revision" value="1"' in text
    # Safe is not on the review: offered by the picker.
    assert f'name="add_scorer" value="{scorers["safe"].pk}"' in text


def test_adding_a_scorer_rerenders_the_form_keeping_input_without_saving(reviewer_client, trace, scorers):
    data = {
        "scorer": [scorers["accuracy"].pk],
        f"score_{scorers['accuracy'].pk}": "2.5",
        "reasoning": "draft",
        "add_scorer": scorers["safe"].pk,
    }
    response = reviewer_client.post(panel_url(trace), data, **HTMX)
    assert response.status_code == 200
    text = response.text
    assert 'value="2.5"' in text and "draft" in text
    assert f'name="score_{scorers["safe"].pk}" value="true"' in text
    assert not Review.objects.exists()

    data["remove_scorer"] = scorers["accuracy"].pk
    del data["add_scorer"]
    response = reviewer_client.post(panel_url(trace), data, **HTMX)
    assert f'name="score_{scorers["accuracy"].pk}"' not in response.text
    assert not Review.objects.exists()


def test_archived_scorers_are_not_offered(reviewer_client, trace, scorers):
    scorers["safe"].archive()
    response = reviewer_client.get(panel_url(trace) + "?mode=edit", **HTMX)
    assert f'name="add_scorer" value="{scorers["safe"].pk}"' not in response.text
    response = reviewer_client.post(panel_url(trace), {"add_scorer": scorers["safe"].pk}, **HTMX)
    assert f'name="score_{scorers["safe"].pk}"' not in response.text


def test_save_with_htmx_returns_the_panel_showing_the_review(reviewer_client, trace, scorers, reviewer):
    response = reviewer_client.post(panel_url(trace), form_data(scorers), **HTMX)
    assert response.status_code == 200
    assert "review-saved" in response["HX-Trigger"]
    review = Review.objects.active().get()
    assert review.reviewed_by == reviewer and review.reasoning == "Polite and correct."
    assert "Outcome:</span> Resolved" in response.text and "Safe:</span> Safe" in response.text
    assert "Accuracy:</span> 4.5" in response.text


def test_save_without_htmx_redirects_to_the_trace(reviewer_client, trace, scorers):
    response = reviewer_client.post(panel_url(trace), form_data(scorers))
    assert response.status_code == 302 and response["Location"] == trace.get_absolute_url()
    assert Review.objects.active().count() == 1


def test_invalid_value_shows_the_error_next_to_the_field_and_keeps_input(reviewer_client, trace, scorers):
    data = form_data(scorers, **{f"score_{scorers['accuracy'].pk}": "4.25"})
    response = reviewer_client.post(panel_url(trace), data, **HTMX)
    assert response.status_code == 200  # htmx swaps 2xx only
    text = response.text
    assert f'id="err_score_{scorers["accuracy"].pk}">Must be a multiple of 0.5 counted from 1.' in text
    assert 'value="4.25"' in text and "Polite and correct." in text and 'value="resolved" checked' in text
    assert not Review.objects.exists()

    plain = reviewer_client.post(panel_url(trace), data)
    assert plain.status_code == 400 and "Must be a multiple of 0.5" in plain.text


def test_missing_value_for_an_included_scorer_is_an_error(reviewer_client, trace, scorers):
    data = form_data(scorers)
    del data[f"score_{scorers['safe'].pk}"]
    response = reviewer_client.post(panel_url(trace), data, **HTMX)
    assert "Choose “Safe” or “Unsafe”." in response.text
    assert not Review.objects.exists()


def test_garbage_input_is_a_4xx_never_a_500(reviewer_client, trace, scorers):
    for data in (
        {"scorer": ["x", "999999"], "score_x": "1", "save": "1"},
        {"base_revision": "abc", "save": "1"},
        {"base_revision": "9" * 30, "save": "1"},
        {"reasoning": "x" * 20_001, "save": "1"},
        {"scorer": [scorers["outcome"].pk], f"score_{scorers['outcome'].pk}": "no-such-option", "save": "1"},
    ):
        response = reviewer_client.post(panel_url(trace), data)
        assert response.status_code == 400, data
    assert not Review.objects.exists()
    response = reviewer_client.post(panel_url(trace), {"scorer": ["999999"], "save": "1"}, **HTMX)
    assert "does not exist in this project" in response.text


def test_stale_form_gets_the_conflict_with_input_kept(client, project, trace, scorers, reviewer):
    colleague = MembershipFactory(project=project, role="reviewer").user
    make_review(trace, reviewer, {scorers["accuracy"].pk: "3"})
    make_review(trace, colleague, {scorers["accuracy"].pk: "5"}, base_revision=1)
    client.force_login(reviewer)
    data = form_data(scorers, base_revision="1", reasoning="my view")
    response = client.post(panel_url(trace), data, **HTMX)
    text = response.text
    assert "This review was changed while you were editing it." in text
    assert "Accuracy: 3 → 5" in text and colleague.username in text
    assert "my view" in text and 'name="base_revision" value="2"' in text
    assert Review.objects.get().reasoning == ""

    # Saving again from the shown revision replaces it knowingly.
    data["base_revision"] = "2"
    assert client.post(panel_url(trace), data, **HTMX).status_code == 200
    assert Review.objects.get().reasoning == "my view"
    assert ReviewRevision.objects.count() == 3


def test_first_save_racing_a_colleague_says_someone_just_reviewed(client, project, trace, reviewer):
    colleague = MembershipFactory(project=project, role="reviewer").user
    make_review(trace, colleague, reasoning="theirs")
    client.force_login(reviewer)
    response = client.post(panel_url(trace), {"reasoning": "mine", "save": "1"})
    assert response.status_code == 409
    assert "Someone just reviewed this trace." in response.text


def test_delete_asks_for_confirmation_then_soft_deletes(reviewer_client, trace, reviewer):
    review = make_review(trace, reviewer, reasoning="to delete")
    confirm = reviewer_client.get(delete_url(trace), **HTMX)
    assert "Delete this review?" in confirm.text and 'name="base_revision" value="1"' in confirm.text
    assert Review.objects.active().exists()
    response = reviewer_client.post(delete_url(trace), {"base_revision": "1"}, **HTMX)
    assert response.status_code == 200 and "Not reviewed yet." in response.text
    review.refresh_from_db()
    assert review.deleted_at is not None and review.deleted_by == reviewer


def test_delete_without_htmx_redirects(reviewer_client, trace, reviewer):
    make_review(trace, reviewer)
    response = reviewer_client.post(delete_url(trace), {"base_revision": "1"})
    assert response.status_code == 302
    assert not Review.objects.active().exists()


def test_absurd_base_revisions_are_conflicts_not_errors(reviewer_client, trace, reviewer):
    make_review(trace, reviewer)
    response = reviewer_client.post(delete_url(trace), {"base_revision": "9" * 30})
    assert response.status_code == 409
    assert Review.objects.active().exists()


def test_stale_delete_is_refused(client, project, trace, reviewer):
    colleague = MembershipFactory(project=project, role="reviewer").user
    make_review(trace, reviewer)
    make_review(trace, colleague, reasoning="edited", base_revision=1)
    client.force_login(reviewer)
    response = client.post(delete_url(trace), {"base_revision": "1"})
    assert response.status_code == 409 and "changed while you were editing" in response.text
    assert Review.objects.active().exists()


def test_history_lists_every_revision(reviewer_client, trace, scorers, reviewer):
    make_review(trace, reviewer, {scorers["accuracy"].pk: "3"}, reasoning="first")
    make_review(trace, reviewer, {scorers["accuracy"].pk: "4"}, reasoning="second", base_revision=1)
    review = Review.objects.get()
    from reviews.services import delete_review

    delete_review(review=review, user=reviewer, base_revision=2)
    response = reviewer_client.get(panel_url(trace) + "?mode=history", **HTMX)
    text = response.text
    assert text.index("Deleted") < text.index("second") < text.index("first")
    assert "Accuracy:</span> 3" in text and "Accuracy:</span> 4" in text


def test_save_in_queue_context_opens_the_next_trace_of_the_queue(reviewer_client, project, trace, reviewer):
    from queues.models import QueueItem
    from queues.services import create_queue, enqueue_traces

    queue = create_queue(project=project, name="Inbox", user=reviewer)
    following = TraceFactory(project=project, trace_id="next-one")
    enqueue_traces(queue=queue, traces=[trace, following], user=reviewer)
    form = reviewer_client.get(panel_url(trace) + f"?mode=edit&queue={queue.pk}", **HTMX)
    assert f'name="queue" value="{queue.pk}"' in form.text and "Save &amp; next" in form.text

    response = reviewer_client.post(panel_url(trace), {"save": "1", "queue": queue.pk}, **HTMX)
    next_url = reverse("queues:next", args=[project.slug, queue.pk]) + f"?trace={trace.pk}"
    assert response["HX-Redirect"] == next_url
    assert not QueueItem.objects.pending().filter(trace=trace).exists()
    assert reviewer_client.get(next_url)["Location"].startswith(following.get_absolute_url())

    plain = reviewer_client.post(panel_url(following), {"save": "1", "queue": queue.pk})
    assert plain.status_code == 302 and "/next/" in plain["Location"]


# -- bad input (breaker findings 5, 13, 14) -------------------------------------------------------


def _queue(project, name="Inbox", **kwargs):
    from tests.queues.factories import ReviewQueueFactory

    return ReviewQueueFactory(project=project, name=name, **kwargs)


@pytest.mark.parametrize("raw", ["²", "٣", "9" * 30, "abc", "-1", "arabic"])
def test_save_with_a_junk_queue_is_refused_before_saving(reviewer_client, project, trace, raw):
    queue = _queue(project)
    if raw == "arabic":  # the queue's own id in Arabic-Indic digits must not name it
        raw = "".join("٠١٢٣٤٥٦٧٨٩"[int(d)] for d in str(queue.pk))
    response = reviewer_client.post(panel_url(trace), {"reasoning": "mine", "save": "1", "queue": raw})
    assert response.status_code == 400
    assert "The queue this trace was opened from does not exist" in response.text
    assert "mine" in response.text
    assert not Review.objects.exists() and not ReviewRevision.objects.exists()


def test_save_with_an_unknown_other_project_or_deleted_queue_saves_nothing(
    reviewer_client, project, other_project, trace, reviewer
):
    from queues.services import delete_queue, enqueue_traces

    theirs = _queue(other_project, name="Theirs")
    gone = _queue(project, name="Gone")
    enqueue_traces(queue=gone, traces=[trace], user=reviewer)
    delete_queue(queue=gone, by=reviewer)
    for queue_id in (999999, theirs.pk, gone.pk):
        data = {"reasoning": "mine", "save": "1", "queue": str(queue_id)}
        response = reviewer_client.post(panel_url(trace), data, **HTMX)
        # htmx: the panel comes back in place with the message and the reviewer's input.
        assert "HX-Redirect" not in response
        assert "The queue this trace was opened from does not exist" in response.text
        assert "mine" in response.text
        # The form no longer carries the queue: saving again saves outside the queue.
        assert 'name="queue"' not in response.text
        assert not Review.objects.exists(), queue_id
    response = reviewer_client.post(panel_url(trace), {"reasoning": "mine", "save": "1"}, **HTMX)
    assert response.status_code == 200 and Review.objects.get().reasoning == "mine"


def test_trace_page_with_a_superscript_queue_is_not_500(reviewer_client, project, trace):
    _queue(project)
    for raw in ("²", "٣"):
        assert reviewer_client.get(trace.get_absolute_url(), {"queue": raw}).status_code == 200
        assert reviewer_client.get(panel_url(trace), {"mode": "edit", "queue": raw}).status_code == 200


@pytest.mark.parametrize("raw", ["²", "٣", "abc"])
def test_delete_with_a_junk_base_revision_says_the_form_is_out_of_date(reviewer_client, trace, reviewer, raw):
    make_review(trace, reviewer)
    response = reviewer_client.post(delete_url(trace), {"base_revision": raw})
    assert response.status_code == 409
    assert "This form is out of date" in response.text
    assert Review.objects.active().exists()


@pytest.mark.parametrize("raw", ["²", "٣"])
def test_save_with_a_non_ascii_base_revision_is_a_form_error(reviewer_client, trace, reviewer, raw):
    make_review(trace, reviewer, reasoning="first")
    response = reviewer_client.post(
        panel_url(trace), {"reasoning": "mine", "base_revision": raw, "save": "1"}
    )
    assert response.status_code == 400
    assert "This form is out of date" in response.text
    assert Review.objects.get().reasoning == "first"


def test_forged_base_revision_on_an_unreviewed_trace_says_out_of_date(reviewer_client, trace):
    response = reviewer_client.post(panel_url(trace), {"reasoning": "x", "base_revision": "999", "save": "1"})
    assert response.status_code == 409
    assert "This form is out of date" in response.text
    assert "deleted while you were editing" not in response.text
    assert not Review.objects.exists()


def test_a_really_deleted_review_still_says_deleted_meanwhile(reviewer_client, trace, reviewer):
    from reviews.services import delete_review

    review = make_review(trace, reviewer)
    delete_review(review=review, user=reviewer, base_revision=1)
    response = reviewer_client.post(panel_url(trace), {"reasoning": "x", "base_revision": "1", "save": "1"})
    assert response.status_code == 409
    assert "This review was deleted while you were editing it." in response.text


def test_forged_base_revision_on_a_reviewed_trace_says_out_of_date(reviewer_client, trace, reviewer):
    make_review(trace, reviewer)
    response = reviewer_client.post(delete_url(trace), {"base_revision": "999"})
    assert response.status_code == 409
    assert "This form is out of date" in response.text
    assert "changed while you were editing" not in response.text


def test_a_non_ascii_scorer_id_is_not_read_as_a_number(reviewer_client, trace, scorers):
    pk = scorers["safe"].pk
    arabic = "".join("٠١٢٣٤٥٦٧٨٩"[int(d)] for d in str(pk))
    data = {"scorer": [arabic], f"score_{arabic}": "true", f"score_{pk}": "true", "save": "1"}
    response = reviewer_client.post(panel_url(trace), data)
    assert response.status_code == 400
    assert "does not exist in this project" in response.text
    assert not Review.objects.exists()
