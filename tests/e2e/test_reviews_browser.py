"""A reviewer's path through reviewing in a real browser (Chromium via Playwright): open a real
imported trace, review it with one scorer of each kind and reasoning, meet an inline error for an
off-step number and correct it, then find the review again on the reviews page by a word of its
reasoning and by a scorer value, and download the CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from reviews.models import Review
from tests.projects.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.reviews.factories import make_scorer
from traces.models import Trace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reviewer_scores_a_trace_then_finds_and_exports_the_review(live_server, page, fixtures_dir):
    from playwright.sync_api import expect

    project = ProjectFactory(slug="support", name="Support bot")
    rita = UserFactory(username="rita")
    MembershipFactory(project=project, user=rita, role="reviewer")
    make_scorer(project, "Outcome", "categorical")
    make_scorer(project, "Accuracy", "numeric")  # 1 to 5, step 0.5
    make_scorer(project, "Safe", "boolean")  # labelled Safe / Unsafe
    call_command(
        "import_traces",
        str(fixtures_dir / "langfuse" / "openai-agents-2025-09-30.trace.json"),
        project="support",
        no_progress=True,
    )
    trace = Trace.objects.get(project=project)

    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    remote: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_server.url) else remote.append(r.url))

    # Log in through the real form, landing on the trace page.
    page.goto(live_server.url + trace.get_absolute_url())
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", "pw-for-tests-1")
    page.click("button[type=submit]")
    panel = page.locator("#review-panel")
    expect(panel).to_contain_text("Not reviewed yet.")

    # Review: the form opens in place; pick the scorers with the searchable picker.
    panel.get_by_role("link", name="Review", exact=True).click()
    search = panel.locator("[data-picker-search]")
    search.fill("outc")
    expect(panel.locator(".scorer-picker-list li:visible")).to_have_count(1)
    panel.get_by_role("button", name="+ Outcome").click()
    expect(panel.locator("fieldset[data-kind=categorical]")).to_have_count(1)
    # One at a time, as a person does: each add re-renders the form with everything kept.
    panel.get_by_role("button", name="+ Accuracy").click()
    expect(panel.locator("fieldset.score-control")).to_have_count(2)
    panel.get_by_role("button", name="+ Safe").click()
    expect(panel.locator("fieldset.score-control")).to_have_count(3)

    panel.locator("fieldset[data-kind=categorical] label.chip", has_text="Resolved").click()
    number = panel.locator("fieldset[data-kind=numeric] input[type=number]")
    assert number.get_attribute("step") == "0.5" and number.get_attribute("min") == "1"
    number.fill("4.25")
    panel.locator("fieldset[data-kind=boolean] label.chip", has_text="Unsafe").click()
    panel.locator("textarea[name=reasoning]").fill("Refund explained clearly; mentions the zanzibar policy.")
    panel.get_by_role("button", name="Save review").click()

    # Off-step: the error shows next to the field, everything typed is still there, nothing saved.
    numeric = panel.locator("fieldset[data-kind=numeric]")
    expect(numeric.locator(".field-error")).to_have_text("Must be a multiple of 0.5 counted from 1.")
    expect(numeric.locator("input[type=number]")).to_have_value("4.25")
    expect(panel.locator("textarea[name=reasoning]")).to_have_value(re.compile("zanzibar"))
    expect(panel.locator("fieldset[data-kind=categorical] input[value=resolved]")).to_be_checked()
    expect(panel.locator("fieldset[data-kind=boolean] input[value=false]")).to_be_checked()
    assert not Review.objects.exists()

    numeric.locator("input[type=number]").fill("4.5")
    panel.get_by_role("button", name="Save review").click()
    expect(panel.locator(".score-tag")).to_have_count(3)
    expect(panel).to_contain_text("Accuracy: 4.5")
    expect(panel).to_contain_text("Outcome: Resolved")
    expect(panel).to_contain_text("Safe: Unsafe")
    expect(panel).to_contain_text("Reviewed by rita")
    review = Review.objects.get()
    assert review.scores.count() == 3 and "zanzibar" in review.reasoning

    # Find it again on the reviews page: by a word of the reasoning...
    page.get_by_role("link", name="Reviews", exact=True).click()
    page.wait_for_url("**/p/support/reviews/")
    rows = page.locator("#results table tbody tr")
    page.fill("input[name=q]", "ZANZIBAR")
    page.wait_for_url("**q=ZANZIBAR**")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(trace.trace_id[:20])
    page.fill("input[name=q]", "no such words")
    expect(page.locator("#results")).to_contain_text("No reviews match these filters.")
    page.fill("input[name=q]", "")
    expect(rows).to_have_count(1)

    # ...and by a scorer value: choosing the scorer brings its value control.
    page.select_option("select[name=scorer]", label="Outcome")
    page.wait_for_url("**scorer=**")
    page.select_option("select[name=option]", "escalated")
    page.wait_for_url("**option=escalated**")
    expect(page.locator("#results")).to_contain_text("No reviews match these filters.")
    page.select_option("select[name=option]", "resolved")
    page.wait_for_url("**option=resolved**")
    expect(rows).to_have_count(1)

    # The shareable URL renders the same list as a full page.
    page.goto(page.url)
    expect(rows).to_have_count(1)
    expect(page.locator("select[name=option]")).to_have_value("resolved")

    # Download the filtered list as CSV.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith(
        "support-reviews-"
    ) and download.suggested_filename.endswith(".csv")
    body = Path(download.path()).read_text(encoding="utf-8-sig")
    (row,) = list(csv.DictReader(io.StringIO(body)))
    assert row["trace_id"] == trace.trace_id
    assert (row["Outcome"], row["Accuracy"], row["Safe"]) == ("resolved", "4.5", "false")
    assert "zanzibar" in row["reasoning"] and row["reviewer"] == "rita"

    assert problems == [] and remote == []
