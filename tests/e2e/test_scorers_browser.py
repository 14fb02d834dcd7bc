"""An admin defines a scorer in a real browser (Chromium via Playwright): a multi-select
categorical scorer with min/max selections, built with the htmx editor and its live preview,
then a label edit that makes version 2 while version 1 stays as it was."""

from __future__ import annotations

import re

import pytest

from scorers.models import Scorer
from tests.projects.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_a_multi_select_scorer_and_renames_a_label(live_server, page):
    from playwright.sync_api import expect

    project = ProjectFactory(slug="support", name="Support bot")
    admin = UserFactory(username="ada")
    MembershipFactory(project=project, user=admin, role="admin")
    problems: list[str] = []
    # Script errors, CSP refusals and failed requests (the browser's own favicon probe aside).
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )

    page.goto(f"{live_server.url}/p/support/scorers/")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", "pw-for-tests-1")
    page.press("input[name=password]", "Enter")
    page.get_by_role("link", name="New scorer").click()
    expect(page).to_have_url(re.compile(r"/scorers/new/$"))

    page.fill("#id_name", "Outcome")
    labels = page.locator("input[name=option_label]")
    expect(labels).to_have_count(3)
    for i, label in enumerate(["Resolved", "Escalated", "Abandoned"]):
        labels.nth(i).fill(label)
    page.get_by_role("button", name="Add option").click()  # htmx re-renders the editor, keeping the rows
    expect(labels).to_have_count(4)
    expect(labels.nth(2)).to_have_value("Abandoned")
    labels.nth(3).fill("Wrong answer")

    page.get_by_label("Multiple choice").check()
    page.get_by_label("Minimum selections").fill("1")
    page.get_by_label("Maximum selections").fill("2")

    # The live preview shows the control a reviewer gets, and checks a value against the rules.
    preview = page.locator("#scorer-preview")
    expect(preview).to_contain_text("Choose 1 to 2 options")
    expect(preview.locator("input[type=checkbox]")).to_have_count(4)
    for name in ("Resolved", "Escalated", "Abandoned"):
        preview.get_by_label(name).check()
    expect(page.locator("#scorer-preview")).to_contain_text("Choose at most 2 options.")

    page.get_by_role("button", name="Create scorer").click()
    expect(page.locator(".messages")).to_contain_text("Created “Outcome” (version 1).")
    scorer = Scorer.objects.get(name="Outcome")
    assert scorer.config["max_selections"] == 2 and scorer.config["min_selections"] == 1

    # Rename a label: a new version, same key.
    page.locator("input[name=option_label]").nth(0).fill("Solved")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("version 2 is now current")

    page.get_by_role("link", name="Version history").click()
    v2, v1 = page.locator("#v2"), page.locator("#v1")
    expect(v2).to_contain_text("current")
    expect(v2.locator(".version-changes")).to_have_text("Renamed “Resolved” to “Solved”")
    expect(v2.locator("table")).to_contain_text("Solved")
    expect(v2.locator("table")).not_to_contain_text("Resolved")
    expect(v1.locator("table")).to_contain_text("Resolved")
    expect(v1.locator("table")).not_to_contain_text("Solved")
    expect(v1).to_contain_text("by ada")
    for version in (v1, v2):
        expect(version.locator("table")).to_contain_text("resolved")  # the key did not change
    assert problems == []
