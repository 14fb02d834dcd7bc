"""The review panel as a browser sees it: htmx swaps of the panel log no CSP violation (htmx must
not re-set style attributes while settling), and refusals show in place, not over the page."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import new_tab
from tests.projects.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.reviews.factories import make_scorer
from tests.traces.view_data import make_trace
from traces.links import trace_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_review_panel_swaps_log_no_csp_violation_and_refusals_show_in_place(live_server, browser):
    from playwright.sync_api import expect

    project = ProjectFactory(slug="support", name="Support bot")
    MembershipFactory(project=project, user=UserFactory(username="rita"), role="reviewer")
    make_scorer(project, "Outcome", "categorical")
    make_scorer(project, "Safe", "boolean")
    make_trace(project, "t-1")
    page = new_tab(browser, width=1280)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)

    page.goto(live_server.url + trace_url("support", "t-1"))
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", "pw-for-tests-1")
    page.click("button[type=submit]")
    panel = page.locator("#review-panel")
    panel.get_by_role("link", name="Review", exact=True).click()
    # A reviewer who drags the reasoning box bigger gives it a style attribute (CSSOM, allowed);
    # htmx must not copy it onto the swapped-in textarea with setAttribute (blocked by the CSP).
    page.locator("#id_reasoning").evaluate("el => { el.style.height = '140px' }")
    panel.get_by_role("button", name="+ Outcome").click()
    expect(panel.locator("fieldset[data-kind=categorical]")).to_have_count(1)
    panel.get_by_role("button", name="+ Safe").click()
    expect(panel.locator("fieldset[data-kind=boolean]")).to_have_count(1)
    panel.locator("fieldset[data-kind=categorical] input[type=radio]").first.check()
    # Saving without the boolean is refused: the 400 fragment replaces the panel, not the page.
    panel.get_by_role("button", name="Save review").click()
    expect(panel.locator(".field-error")).to_have_count(1)
    expect(page.locator("header.topbar")).to_be_visible()

    assert [m for m in console if "Content Security Policy" in m] == []
