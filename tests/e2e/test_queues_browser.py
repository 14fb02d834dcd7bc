"""Review queues in a real browser (Chromium via Playwright).

(a) A reviewer builds a queue of five real imported traces by filtering the traces list and adding
    all matching traces, then reviews all five from the keyboard only (j/k, "/" to add a scorer,
    digits, Ctrl+Enter) and ends on "queue done"; the reviews page lists five reviews.
(b) Two reviewers, each in their own browser context, work one queue: Next never gives them the
    same trace, and opening the other's trace says who has it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from queues.models import QueueItem, ReviewQueue
from reviews.models import Review
from tests.e2e.conftest import new_tab
from tests.projects.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.queues.factories import QueueItemFactory, ReviewQueueFactory
from tests.reviews.factories import make_scorer
from tests.traces.factories import TraceFactory
from traces.models import Trace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"


def new_page(browser, live_server, username: str, problems: list[str]):
    page = new_tab(browser)
    page.on("pageerror", lambda e: problems.append(f"{username}: {e}"))
    page.on("console", lambda m: problems.append(f"{username}: {m.text}") if m.type == "error" else None)
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def trace_id_of(page) -> str:
    return page.locator(".trace-head .facts dd.mono").first.inner_text().strip()


def test_build_a_queue_from_filters_and_review_it_from_the_keyboard(live_server, browser, fixtures_dir):
    from playwright.sync_api import expect

    project = ProjectFactory(slug="support", name="Support bot")
    MembershipFactory(project=project, user=UserFactory(username="rita"), role="reviewer")
    make_scorer(project, "Outcome", "categorical")
    files = sorted((fixtures_dir / "langfuse").glob("*.trace.json")) + sorted(
        (fixtures_dir / "otlp").glob("*.json")
    )
    call_command("import_traces", *map(str, files), project="support", no_progress=True)
    before_december = set(
        Trace.objects.filter(project=project, started_at__lt=datetime(2025, 12, 1, tzinfo=UTC)).values_list(
            "trace_id", flat=True
        )
    )
    assert len(before_december) == 5 and Trace.objects.count() > 5

    problems: list[str] = []
    page = new_page(browser, live_server, "rita", problems)

    # Filter the traces list down to the five, then add all matching to a new queue.
    page.goto(f"{live_server.url}/p/support/traces/")
    page.fill("input[name=end]", "2025-12-01T00:00")
    expect(page.locator("#results .count")).to_contain_text("5 traces")
    page.wait_for_load_state("networkidle")  # no second filter swap may replace the bar below
    page.click("[data-bulk-all]")
    # Without a queue chosen the server refuses, and the message shows in place (a 400 fragment).
    expect(page.locator("#bulk-result")).to_contain_text("Choose a queue")
    page.fill("#bulk-new-name", "Before December")
    page.click("[data-bulk-all]")
    expect(page.locator("#bulk-result")).to_contain_text("5 added")
    queue = ReviewQueue.objects.get(project=project, name="Before December")
    pending = set(QueueItem.objects.pending().filter(queue=queue).values_list("trace__trace_id", flat=True))
    assert pending == before_december

    # Start reviewing from the queue page.
    page.goto(live_server.url + queue.get_absolute_url())
    page.get_by_role("link", name="Start reviewing").first.click()
    expect(page.locator("[data-queue-position]")).to_have_text("1 of 5 pending")
    first = page.url

    # j / k move through the queue.
    page.keyboard.press("j")
    expect(page.locator("[data-queue-position]")).to_have_text("2 of 5 pending")
    page.keyboard.press("k")
    expect(page.locator("[data-queue-position]")).to_have_text("1 of 5 pending")
    assert page.url == first
    page.keyboard.press("?")
    expect(page.locator("[data-shortcuts-overlay]")).to_be_visible()
    expect(page.locator("[data-shortcuts-overlay]")).to_contain_text("Ctrl+Enter")
    page.keyboard.press("Escape")
    expect(page.locator("[data-shortcuts-overlay]")).to_be_hidden()

    reviewed: list[str] = []
    for n in range(5):
        expect(page.locator("[data-queue-position]")).to_have_text(f"1 of {5 - n} pending")
        form = page.locator("#review-panel form.review-form")
        expect(form).to_be_visible()  # in a queue the form opens by itself
        reviewed.append(trace_id_of(page))
        page.keyboard.press("/")
        page.keyboard.type("Outcome")
        page.keyboard.press("Enter")
        outcome = page.locator('fieldset[data-kind="categorical"]')
        expect(outcome).to_be_visible()
        page.keyboard.press("2")
        expect(outcome.locator("input[value=escalated]")).to_be_checked()
        if n == 0:
            # Typing in a field fires no shortcut (j, k, digits, ?); Ctrl+Enter still saves.
            here = page.url
            page.locator("#review-panel textarea").focus()
            page.keyboard.type("jk 1? wrong escalation")
            expect(outcome.locator("input[value=escalated]")).to_be_checked()
            expect(page.locator("[data-shortcuts-overlay]")).to_be_hidden()
            assert page.url == here
            # Esc leaves the field, and the shortcuts work again.
            page.keyboard.press("Escape")
            assert page.evaluate("document.activeElement.tagName") != "TEXTAREA"
            page.keyboard.press("2")
            expect(outcome.locator("input[value=escalated]")).to_be_checked()
        page.keyboard.press("Control+Enter")
        if n < 4:
            page.wait_for_url(lambda url, seen=page.url: url != seen)
    expect(page.locator("[data-queue-done]")).to_contain_text("Queue done")

    assert sorted(reviewed) == sorted(before_december)
    reviews = Review.objects.filter(trace__project=project, deleted_at__isnull=True)
    assert set(reviews.values_list("trace__trace_id", flat=True)) == before_december
    assert reviews.get(trace__trace_id=reviewed[0]).reasoning == "jk 1? wrong escalation"
    assert QueueItem.objects.pending().filter(queue=queue).count() == 0

    page.goto(f"{live_server.url}/p/support/reviews/")
    for trace_id in before_december:
        expect(page.locator("main")).to_contain_text(trace_id[:12])
    assert page.locator("main").get_by_text("Escalated").count() >= 5
    page.goto(live_server.url + queue.get_absolute_url())
    expect(page.locator("main")).to_contain_text("Nothing pending in this queue")
    assert [p for p in problems if "status of 400" not in p] == []  # the deliberate refusal above


def test_two_reviewers_on_one_queue_never_get_the_same_trace(live_server, browser):
    from playwright.sync_api import expect

    project = ProjectFactory(slug="support", name="Support bot")
    for name in ("alice", "bob"):
        MembershipFactory(project=project, user=UserFactory(username=name), role="reviewer")
    queue = ReviewQueueFactory(project=project, name="Shared")
    for _ in range(6):
        QueueItemFactory(queue=queue, trace=TraceFactory(project=project))

    problems: list[str] = []
    alice = new_page(browser, live_server, "alice", problems)
    bob = new_page(browser, live_server, "bob", problems)
    got: dict[str, list[str]] = {"alice": [], "bob": []}
    start = live_server.url + f"/p/support/queues/{queue.pk}/start/"

    alice.goto(start)
    got["alice"].append(trace_id_of(alice))
    bob.goto(start)
    got["bob"].append(trace_id_of(bob))
    for _ in range(2):
        for name, page in (("alice", alice), ("bob", bob)):
            before = page.url
            page.keyboard.press("j")
            page.wait_for_url(lambda url, seen=before: url != seen)
            got[name].append(trace_id_of(page))

    assert len(got["alice"]) == len(got["bob"]) == 3
    assert not set(got["alice"]) & set(got["bob"]), got
    assert len(set(got["alice"]) | set(got["bob"])) == 6

    # Bob opens one of Alice's traces anyway (from the queue page): he is told who has it.
    item = QueueItem.objects.get(queue=queue, trace__trace_id=got["alice"][0])
    bob.goto(live_server.url + f"/p/support/queues/{queue.pk}/items/{item.pk}/")
    expect(bob.locator("[data-queue-claimed]")).to_contain_text(
        re.compile(r"alice is reviewing this \(claimed")
    )
    # Everything is claimed: Bob's Next finds nothing of his own beyond his claims, the queue
    # still counts all six as pending.
    expect(bob.locator("[data-queue-position]")).to_contain_text("of 6 pending")
    assert problems == []


def test_add_to_queue_from_the_trace_page_creates_moves_and_removes(live_server, browser):
    from playwright.sync_api import expect

    project = ProjectFactory(slug="support", name="Support bot")
    MembershipFactory(project=project, user=UserFactory(username="rita"), role="reviewer")
    ReviewQueueFactory(project=project, name="Existing")
    trace = TraceFactory(project=project, trace_id="t:1")

    problems: list[str] = []
    page = new_page(browser, live_server, "rita", problems)
    page.goto(live_server.url + trace.get_absolute_url())
    dialog = page.locator("#queue-add")

    # Create a queue inline.
    dialog.get_by_text("Add to queue…").click()
    dialog.locator("input[name=new_name]").fill("Tone <check>")
    dialog.get_by_role("button", name="Add").click()
    expect(dialog).to_contain_text("Added to “Tone <check>”")
    expect(dialog.locator(".queue-pending")).to_contain_text("Pending in Tone <check>")

    # Move it to the existing queue.
    dialog.get_by_text("Move to queue…").click()
    dialog.locator("select[name=queue]").select_option(label="Existing")
    dialog.get_by_role("button", name="Add").click()
    expect(dialog).to_contain_text("Moved to “Existing”")
    assert QueueItem.objects.pending().get(trace=trace).queue.name == "Existing"

    # Remove it again (a plain form post that comes back to the trace page).
    dialog.get_by_role("button", name="Remove from queue").click()
    expect(page.locator("#queue-add .queue-pending")).to_have_count(0)
    assert not QueueItem.objects.pending().filter(trace=trace).exists()
    assert problems == []
