"""A reviewer's path through the traces pages in a real browser (Chromium via Playwright):
log in, filter the list (htmx, URL kept shareable), open a trace, collapse/expand the tree,
select a span, and read an LLM output full of HTML as text, with no script run and no image loaded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.projects.factories import MembershipFactory, ProjectFactory, UserFactory
from traces.ingest.normalise import ObservationIn, store_observations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVIL = "Sure! <script>alert(1)</script> and <img src=x onerror=alert(2)> done"


def _data(project):
    now = timezone.now()
    items = []
    for i in range(12):
        items.append(
            ObservationIn(
                trace_id=f"calm-{i}",
                span_id=f"calm-{i}",
                kind="generation",
                name="small talk",
                model="gpt-4o-mini",
                started_at=now - timedelta(minutes=i + 1),
                input=[{"role": "user", "content": f"hello {i}"}],
                output=[{"role": "assistant", "content": "hi"}],
            )
        )
    items += [
        ObservationIn(
            trace_id="evil/trace:1",
            span_id="root",
            kind="span",
            name="refund agent",
            started_at=now - timedelta(minutes=30),
            input=[{"role": "user", "content": "I want a refund for order 77"}],
            output="done",
        ),
        ObservationIn(
            trace_id="evil/trace:1",
            span_id="lookup",
            parent_id="root",
            kind="span",
            type_label="tool",
            name="lookup_order",
            started_at=now - timedelta(minutes=30) + timedelta(milliseconds=5),
            latency=0.05,
            input={"order": 77},
            output={"status": "shipped"},
        ),
        ObservationIn(
            trace_id="evil/trace:1",
            span_id="gen",
            parent_id="lookup",
            kind="generation",
            name="compose reply",
            model="gpt-4o",
            started_at=now - timedelta(minutes=30) + timedelta(milliseconds=80),
            latency=0.9,
            input=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Refund?"}],
            output=[{"role": "assistant", "content": EVIL}],
            is_error=True,
            error="HTTP 500 from upstream",
        ),
    ]
    store_observations(project, items)


def test_reviewer_filters_opens_a_trace_and_reads_html_as_text(live_server, page):
    from playwright.sync_api import expect

    user = UserFactory(username="rita")
    project = ProjectFactory(slug="support", name="Support bot")
    MembershipFactory(user=user, project=project, role="reviewer")
    _data(project)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    csp_violations: list[str] = []
    page.on(
        "console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None
    )
    remote: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_server.url) else remote.append(r.url))

    # Log in through the real form.
    page.goto(f"{live_server.url}/p/support/traces/")
    assert "/login/" in page.url
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/p/support/traces/")
    assert page.locator("table.traces-table tbody tr").count() == 13

    # Filter by search: htmx swaps the results in place and pushes a shareable URL.
    page.fill("input[name=q]", "refund")
    expect(page.locator("table.traces-table tbody tr")).to_have_count(1)  # no eval: the CSP forbids it
    page.wait_for_url("**/p/support/traces/?q=refund")
    assert page.locator("table.traces-table").inner_text().count("refund agent") == 1

    # Then only errors; the URL holds both filters.
    page.select_option("select[name=error]", "yes")
    page.wait_for_url("**error=yes**")
    assert "q=refund" in page.url
    expect(page.locator("table.traces-table tbody tr")).to_have_count(1)

    # The shared URL works as a full page load too.
    page.goto(page.url)
    assert page.locator("table.traces-table tbody tr").count() == 1
    assert page.locator("input[name=q]").input_value() == "refund"

    # Open the trace (its id has a slash and a colon).
    page.click("text=refund agent")
    page.wait_for_url("**/p/support/traces/evil%2Ftrace:1/")
    assert page.locator("h1").inner_text() == "refund agent"
    tree = page.locator("#tree")
    assert tree.locator(".node").count() == 3

    # Collapse the tool span: its generation child hides; expand again.
    lookup_row = tree.locator(".node", has_text="lookup_order")
    lookup_row.locator("button.twisty").click()
    expect(tree.locator(".node", has_text="compose reply")).to_be_hidden()
    lookup_row.locator("button.twisty").click()
    expect(tree.locator(".node", has_text="compose reply")).to_be_visible()

    # Select the generation: htmx loads its detail and pushes ?span=.
    tree.locator("a", has_text="compose reply").click()
    page.wait_for_url("**?span=gen")
    detail = page.locator("#detail")
    detail.locator("h2", has_text="compose reply").wait_for()
    assert detail.locator(".msg.role-system").inner_text().endswith("Be kind.")
    assistant = detail.locator(".msg.role-assistant .text")
    assert assistant.inner_text() == EVIL  # shown as text, character for character
    assert "HTTP 500 from upstream" in detail.inner_text()
    assert "compose reply" in tree.locator("a[aria-current=true]").inner_text()

    # Reload with ?span= renders the same detail server-side.
    page.reload()
    assert page.locator("#detail .msg.role-assistant .text").inner_text() == EVIL

    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("#detail script").count() == 0
    assert errors == []
    assert csp_violations == []  # htmx and app.js work under the strict policy
    assert remote == []
