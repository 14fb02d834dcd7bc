"""Scorer pages: access for every role, the editor's save / row actions / preview, archive."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scorers.models import Scorer, ScorerVersion
from tests.scorers.factories import make_scorer

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, project, *args) -> str:
    return reverse(f"scorers:{name}", args=[project.slug, *args])


def categorical_post(**overrides) -> dict:
    data = {
        "name": "Outcome",
        "description": "How the chat ended",
        "kind": "categorical",
        "selection": "multiple",
        "min_selections": "1",
        "max_selections": "2",
        "option_key": ["", "", "", ""],
        "option_label": ["Resolved", "Escalated", "Abandoned", ""],
    }
    return data | overrides


# --- access ------------------------------------------------------------------------------------


@pytest.fixture
def scorer(project):
    return make_scorer(project, name="Outcome")


def test_everyone_in_the_project_reads_list_detail_and_history(client, project, viewer, scorer):
    client.force_login(viewer)
    for page in (url("list", project), url("detail", project, scorer.pk), url("history", project, scorer.pk)):
        response = client.get(page)
        assert response.status_code == 200, page
        assert b"Outcome" in response.content


def test_readers_see_the_settings_not_the_editor(client, project, reviewer, scorer):
    client.force_login(reviewer)
    response = client.get(url("detail", project, scorer.pk))
    assert b'name="option_label"' not in response.content
    assert b"Wrong answer" in response.content and b"New scorer" not in response.content


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_reviewers_and_viewers_cannot_edit(client, project, scorer, role, request):
    client.force_login(request.getfixturevalue(role))
    assert client.get(url("create", project)).status_code == 403
    assert client.post(url("create", project), categorical_post(name="New")).status_code == 403
    assert client.post(url("detail", project, scorer.pk), categorical_post()).status_code == 403
    assert client.post(url("archive", project, scorer.pk), {"archive": "1"}).status_code == 403
    scorer.refresh_from_db()
    assert scorer.versions.count() == 1 and not scorer.is_archived
    assert Scorer.objects.count() == 1


def test_a_member_of_another_project_gets_404(client, project, outsider, scorer):
    client.force_login(outsider)
    for page in (url("list", project), url("create", project), url("detail", project, scorer.pk)):
        assert client.get(page).status_code == 404
    assert client.post(url("detail", project, scorer.pk), categorical_post()).status_code == 404
    assert client.post(url("archive", project, scorer.pk)).status_code == 404


def test_a_scorer_of_another_project_is_404_even_for_an_admin(admin_client_p, project, other_project):
    foreign = make_scorer(other_project, name="Foreign")
    assert admin_client_p.get(url("detail", project, foreign.pk)).status_code == 404
    assert admin_client_p.get(url("history", project, foreign.pk)).status_code == 404
    assert admin_client_p.post(url("archive", project, foreign.pk)).status_code == 404


def test_anonymous_is_sent_to_login(client, project, scorer):
    for page in (url("list", project), url("create", project), url("detail", project, scorer.pk)):
        response = client.get(page)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


# --- list -----------------------------------------------------------------------------------------


def test_list_filters_archived_and_renders_the_htmx_fragment(admin_client_p, project):
    make_scorer(project, name="Live")
    make_scorer(project, name="Old", kind="boolean").archive()
    page = admin_client_p.get(url("list", project))
    assert b"Live" in page.content and b">Old<" not in page.content and b"<html" in page.content
    archived = admin_client_p.get(url("list", project), {"status": "archived"}, **HX)
    assert b"<html" not in archived.content and b'id="scorer-results"' in archived.content
    assert b">Old<" in archived.content and b"Live" not in archived.content
    every = admin_client_p.get(url("list", project), {"status": "all", "kind": "boolean"})
    assert b">Old<" in every.content and b"Live" not in every.content


def test_list_query_count_does_not_grow_with_scorers(admin_client_p, project, django_assert_max_num_queries):
    for i in range(30):
        make_scorer(project, name=f"S{i}")
    # Session, user, membership (+ its touch), switcher, the scorers: one query for all rows.
    with django_assert_max_num_queries(10):
        response = admin_client_p.get(url("list", project))
    assert response.content.count(b'class="kind kind-categorical"') == 30


# --- create and edit --------------------------------------------------------------------------


def test_admin_creates_a_multiple_choice_scorer(admin_client_p, project, admin_user):
    response = admin_client_p.post(url("create", project), categorical_post())
    scorer = Scorer.objects.get()
    assert response.status_code == 302 and response.url == scorer.get_absolute_url()
    assert scorer.created_by == admin_user and scorer.description == "How the chat ended"
    assert scorer.config == {
        "options": [
            {"key": "resolved", "label": "Resolved"},
            {"key": "escalated", "label": "Escalated"},
            {"key": "abandoned", "label": "Abandoned"},
        ],
        "selection": "multiple",
        "min_selections": 1,
        "max_selections": 2,
    }


def test_admin_creates_numeric_and_boolean_scorers(admin_client_p, project):
    admin_client_p.post(
        url("create", project), {"name": "Accuracy", "kind": "numeric", "min": "0.5", "step": "0.25"}
    )
    admin_client_p.post(
        url("create", project),
        {"name": "Safe", "kind": "boolean", "true_label": "Safe", "false_label": "Unsafe"},
    )
    assert Scorer.objects.get(name="Accuracy").config == {"min": "0.5", "step": "0.25"}
    assert Scorer.objects.get(name="Safe").config == {"true_label": "Safe", "false_label": "Unsafe"}


def test_invalid_config_is_shown_next_to_its_field_and_nothing_is_saved(admin_client_p, project):
    response = admin_client_p.post(url("create", project), categorical_post(max_selections="5"))
    assert response.status_code == 400
    assert "Maximum selections must be at most the number of options (3)." in response.content.decode()
    # What the admin typed stays on screen.
    assert b'value="Abandoned"' in response.content
    assert not Scorer.objects.exists()


def test_bad_kind_and_bad_rows_give_400_not_500(admin_client_p, project):
    assert admin_client_p.post(url("create", project), {"name": "X", "kind": "rating"}).status_code == 400
    rows = categorical_post(option_label=["Good", "good", "", ""])
    response = admin_client_p.post(url("create", project), rows)
    assert response.status_code == 400 and "two options are labelled" in response.content.decode()
    assert admin_client_p.post(url("create", project), {"kind": "numeric", "name": ""}).status_code == 400
    assert not Scorer.objects.exists()


def test_duplicate_name_is_a_form_error(admin_client_p, project, scorer):
    response = admin_client_p.post(url("create", project), categorical_post(name="OUTCOME"))
    assert response.status_code == 400
    assert "An active scorer named “OUTCOME” already exists in this project." in response.content.decode()


def test_editing_a_label_makes_version_2_and_keeps_the_key(admin_client_p, project):
    admin_client_p.post(url("create", project), categorical_post())
    scorer = Scorer.objects.get()
    edit = categorical_post(
        option_key=["resolved", "escalated", "abandoned"], option_label=["Solved", "Escalated", "Abandoned"]
    )
    edit.pop("kind")
    response = admin_client_p.post(url("detail", project, scorer.pk), edit, follow=True)
    assert "version 2 is now current" in response.content.decode()
    scorer.refresh_from_db()
    assert scorer.current_version.number == 2
    assert scorer.config["options"][0] == {"key": "resolved", "label": "Solved"}
    assert ScorerVersion.objects.get(scorer=scorer, number=1).config["options"][0]["label"] == "Resolved"


def test_saving_unchanged_settings_makes_no_version(admin_client_p, project):
    admin_client_p.post(url("create", project), categorical_post())
    scorer = Scorer.objects.get()
    edit = categorical_post(
        name="Ending",
        option_key=["resolved", "escalated", "abandoned"],
        option_label=["Resolved", "Escalated", "Abandoned"],
    )
    response = admin_client_p.post(url("detail", project, scorer.pk), edit, follow=True)
    assert "no new version" in response.content.decode()
    scorer.refresh_from_db()
    assert scorer.name == "Ending" and scorer.versions.count() == 1


def test_the_kind_of_an_existing_scorer_is_not_editable(admin_client_p, project):
    scorer = make_scorer(project, kind="boolean", name="Safe")
    page = admin_client_p.get(url("detail", project, scorer.pk))
    assert b'name="kind"' not in page.content
    admin_client_p.post(
        url("detail", project, scorer.pk),
        {"name": "Safe", "kind": "numeric", "min": "1", "true_label": "Safe", "false_label": "Unsafe"},
    )
    scorer.refresh_from_db()
    assert scorer.kind == "boolean" and scorer.versions.count() == 1


# --- row actions and preview (no writes) ----------------------------------------------------------


def test_row_actions_reorder_add_and_remove_without_saving(admin_client_p, project):
    data = categorical_post(option_label=["A", "B", "C", ""])
    moved = admin_client_p.post(url("create", project), data | {"_action": "down-0"}, **HX)
    text = moved.content.decode()
    assert moved.status_code == 200 and "<html" not in text and 'id="scorer-editor"' in text
    assert text.index('value="B"') < text.index('value="A"') < text.index('value="C"')
    added = admin_client_p.post(url("create", project), data | {"_action": "add"}, **HX)
    assert added.content.decode().count('name="option_label"') == 5
    removed = admin_client_p.post(url("create", project), data | {"_action": "remove-1"}, **HX)
    assert 'value="B"' not in removed.content.decode()
    assert not Scorer.objects.exists()


def test_row_actions_work_without_javascript(admin_client_p, project):
    response = admin_client_p.post(url("create", project), categorical_post() | {"_action": "add"})
    assert response.status_code == 200 and b"<html" in response.content
    assert response.content.decode().count('name="option_label"') == 5
    assert not Scorer.objects.exists()


def test_switching_the_kind_shows_that_kinds_settings(admin_client_p, project):
    response = admin_client_p.post(
        url("create", project), {"name": "Safe", "kind": "boolean", "_action": "kind"}, **HX
    )
    text = response.content.decode()
    assert 'name="true_label" value="Yes"' in text and 'name="option_label"' not in text


def test_preview_renders_the_reviewer_control_and_checks_a_value(admin_client_p, project):
    data = categorical_post() | {"_preview": "1", "preview_value": ["resolved", "escalated", "abandoned"]}
    response = admin_client_p.post(url("create", project), data, **HX)
    text = response.content.decode()
    assert text.lstrip().startswith('<section id="scorer-preview"')
    assert 'type="checkbox" name="preview_value" value="resolved" checked' in text
    assert "Choose 1 to 2 options" in text and "Choose at most 2 options." in text
    numeric = {
        "name": "Accuracy",
        "kind": "numeric",
        "min": "0.5",
        "step": "0.25",
        "_preview": "1",
        "preview_value": "1.1",
    }
    text = admin_client_p.post(url("create", project), numeric, **HX).content.decode()
    assert 'step="0.25"' in text and "Must be a multiple of 0.25 counted from 0.5." in text
    assert not Scorer.objects.exists()


def test_preview_explains_an_invalid_config(admin_client_p, project):
    data = {"name": "X", "kind": "numeric", "min": "5", "max": "1", "_preview": "1"}
    text = admin_client_p.post(url("create", project), data, **HX).content.decode()
    assert "Maximum must be at least the minimum." in text


def test_option_labels_are_escaped(admin_client_p, project):
    admin_client_p.post(
        url("create", project), categorical_post(option_label=["<script>x</script>", "B", "", ""])
    )
    scorer = Scorer.objects.get()
    for page in (url("detail", project, scorer.pk), url("history", project, scorer.pk)):
        text = admin_client_p.get(page).content.decode()
        assert "<script>x</script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text


# --- history and archive -----------------------------------------------------------------------


def test_history_lists_versions_newest_first_with_author(admin_client_p, project, admin_user, scorer):
    from scorers.services import update_scorer

    update_scorer(scorer=scorer, name=scorer.name, config={"options": ["Yes", "No"]}, user=admin_user)
    text = admin_client_p.get(url("history", project, scorer.pk)).content.decode()
    assert text.index("Version 2") < text.index("Version 1")
    assert f"by {admin_user.username}" in text and "current" in text


def test_archive_and_unarchive(admin_client_p, project, scorer):
    response = admin_client_p.post(url("archive", project, scorer.pk), {"archive": "1"})
    assert response.status_code == 302
    scorer.refresh_from_db()
    assert scorer.is_archived
    admin_client_p.post(url("archive", project, scorer.pk), {"archive": "0"})
    scorer.refresh_from_db()
    assert not scorer.is_archived
    assert admin_client_p.get(url("archive", project, scorer.pk)).status_code == 405


def test_unarchive_with_a_taken_name_shows_a_message(admin_client_p, project, scorer):
    scorer.archive()
    make_scorer(project, name="outcome")
    response = admin_client_p.post(url("archive", project, scorer.pk), {"archive": "0"}, follow=True)
    assert "Rename one of them first" in response.content.decode()
    scorer.refresh_from_db()
    assert scorer.is_archived


# --- bad input (breaker finding 14) --------------------------------------------------------------


def test_ten_thousand_options_get_a_message_naming_the_limit(admin_client_p, project):
    labels = [f"Option {n}" for n in range(10_000)]
    data = categorical_post(selection="single", option_key=[""] * len(labels), option_label=labels)
    data.pop("min_selections"), data.pop("max_selections")
    response = admin_client_p.post(url("create", project), data)
    assert response.status_code == 400
    assert "At most 100 options." in response.content.decode()
    assert not Scorer.objects.exists()


@pytest.mark.parametrize("raw", ["٣", "²", "１"])
def test_non_ascii_digits_are_not_numbers_in_the_editor(admin_client_p, project, raw):
    response = admin_client_p.post(
        url("create", project), {"name": "Accuracy", "kind": "numeric", "min": raw}
    )
    assert response.status_code == 400 and "Minimum: Enter a number." in response.content.decode()
    response = admin_client_p.post(url("create", project), categorical_post(max_selections=raw))
    assert response.status_code == 400 and "must be a whole number" in response.content.decode()
    assert not Scorer.objects.exists()
