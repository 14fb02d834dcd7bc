"""The saved reviews page (SPEC §4.1): access, search, filters, sort, pagination, query counts,
and the CSV/JSONL export of the same filtered list."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reviews.models import Review
from reviews.services import delete_review
from scorers.services import update_scorer
from tests.projects.factories import MembershipFactory
from tests.reviews.factories import TraceFactory, make_review, make_scorer

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def scorers(project):
    return {
        "outcome": make_scorer(project, "Outcome", "categorical"),
        "accuracy": make_scorer(project, "Accuracy", "numeric"),
        "safe": make_scorer(project, "Safe", "boolean"),
    }


@pytest.fixture
def url(project):
    return reverse("reviews:list", args=[project.slug])


def export_url(project, fmt):
    return reverse("reviews:export", args=[project.slug, fmt])


@pytest.fixture
def reviews(project, scorers, reviewer):
    """Three reviews with distinct values, reasoning and reviewers."""
    colleague = MembershipFactory(project=project, role="reviewer").user
    o, a, s = scorers["outcome"].pk, scorers["accuracy"].pk, scorers["safe"].pk
    return {
        "good": make_review(
            TraceFactory(project=project, trace_id="t-good", name="refund flow"),
            reviewer,
            {o: "resolved", a: "4.5", s: "true"},
            reasoning="Helpful refund answer",
        ),
        "bad": make_review(
            TraceFactory(project=project, trace_id="t-bad", name="=HYPERLINK(evil)"),
            colleague,
            {o: "escalated", a: "1", s: "false"},
            reasoning="Hallucinated a policy",
        ),
        "plain": make_review(TraceFactory(project=project, trace_id="t-plain"), reviewer, reasoning=""),
    }


def listed(response) -> list[str]:
    return [r.trace.trace_id for r in response.context["page"].object_list]


# -- access --------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, url, project):
    for target in (url, export_url(project, "csv")):
        response = client.get(target)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_member_of_another_project_gets_404(client, outsider, url, project):
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(url, **HTMX).status_code == 404
    assert client.get(export_url(project, "csv")).status_code == 404


def test_viewer_can_read_the_list_and_export(client, viewer, url, project, reviews):
    client.force_login(viewer)
    assert client.get(url).status_code == 200
    assert client.get(export_url(project, "jsonl")).status_code == 200


def test_unknown_export_format_is_404(reviewer_client, project):
    assert reviewer_client.get(export_url(project, "xlsx")).status_code == 404


# -- page ---------------------------------------------------------------------------------------


def test_full_page_lists_active_reviews_newest_first_with_tags(reviewer_client, url, reviews, reviewer):
    delete_review(review=reviews["plain"], user=reviewer, base_revision=1)
    response = reviewer_client.get(url)
    assert response.status_code == 200
    assert listed(response) == ["t-bad", "t-good"]  # deleted reviews are not listed
    text = response.text
    assert (
        "Outcome:</span> Resolved" in text and "Accuracy:</span> 4.5" in text and "Safe:</span> Safe" in text
    )
    assert "=HYPERLINK(evil)" in text and "<html" in text


def test_htmx_gets_the_results_fragment(reviewer_client, url, reviews):
    response = reviewer_client.get(url, {"q": "refund"}, **HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="results"' in response.text
    assert listed(response) == ["t-good"]


def test_changing_the_scorer_also_swaps_the_value_controls(reviewer_client, url, reviews, scorers):
    response = reviewer_client.get(url, {"scorer": scorers["outcome"].pk}, **HTMX)
    assert 'id="value-filter" class="filter filter-value" hx-swap-oob="true"' in response.text
    assert '<option value="resolved">Resolved</option>' in response.text
    full = reviewer_client.get(url, {"scorer": scorers["outcome"].pk})
    assert "hx-swap-oob" not in full.text and '<option value="resolved">Resolved</option>' in full.text


def test_search_by_trace_id_or_reasoning_case_insensitive(reviewer_client, url, reviews):
    assert listed(reviewer_client.get(url, {"q": "T-GOOD"})) == ["t-good"]
    assert listed(reviewer_client.get(url, {"q": "hallucinated"})) == ["t-bad"]
    assert listed(reviewer_client.get(url, {"q": "nothing like it"})) == []


def test_filter_by_scorer_and_value(reviewer_client, url, reviews, scorers):
    o, a, s = scorers["outcome"].pk, scorers["accuracy"].pk, scorers["safe"].pk
    assert set(listed(reviewer_client.get(url, {"scorer": o}))) == {"t-good", "t-bad"}
    assert listed(reviewer_client.get(url, {"scorer": o, "option": "resolved"})) == ["t-good"]
    assert listed(reviewer_client.get(url, {"scorer": a, "value_min": "3", "value_max": "5"})) == ["t-good"]
    assert listed(reviewer_client.get(url, {"scorer": a, "value_max": "1"})) == ["t-bad"]
    assert listed(reviewer_client.get(url, {"scorer": s, "flag": "false"})) == ["t-bad"]
    assert listed(reviewer_client.get(url, {"scorer": s, "flag": "true"})) == ["t-good"]


def test_option_filter_finds_reviews_pinned_to_an_old_version(
    reviewer_client, url, reviews, scorers, project
):
    update_scorer(scorer=scorers["outcome"], name="Outcome", config={"options": ["Other"]})
    response = reviewer_client.get(url, {"scorer": scorers["outcome"].pk, "option": "escalated"})
    assert listed(response) == ["t-bad"]
    assert '<option value="escalated" selected>Escalated</option>' in response.text


def test_filter_by_reviewer_and_updated_range(reviewer_client, url, reviews, reviewer):
    assert set(listed(reviewer_client.get(url, {"reviewer": reviewer.pk}))) == {"t-good", "t-plain"}
    Review.objects.filter(pk=reviews["good"].pk).update(updated_at=timezone.now() - timedelta(days=10))
    today = timezone.now().date()
    assert set(listed(reviewer_client.get(url, {"updated_from": today.isoformat()}))) == {"t-bad", "t-plain"}
    old = (today - timedelta(days=10)).isoformat()
    assert listed(reviewer_client.get(url, {"updated_from": old, "updated_to": old})) == ["t-good"]


def test_sort_by_created(reviewer_client, url, reviews):
    Review.objects.filter(pk=reviews["plain"].pk).update(created_at=timezone.now() - timedelta(days=3))
    assert listed(reviewer_client.get(url, {"sort": "created"}))[0] == "t-plain"
    assert listed(reviewer_client.get(url, {"sort": "-created"}))[-1] == "t-plain"


def test_bad_filter_values_are_reported_not_a_500(reviewer_client, url, reviews):
    response = reviewer_client.get(
        url, {"scorer": "abc", "value_min": "x", "updated_from": "never", "sort": "?"}
    )
    assert response.status_code == 200
    assert 'class="field-error"' in response.text


def test_another_projects_scorer_is_not_a_valid_filter(reviewer_client, url, reviews, other_project):
    foreign = make_scorer(other_project, "Outcome", "categorical")
    response = reviewer_client.get(url, {"scorer": foreign.pk})
    assert 'class="field-error"' in response.text


def test_pagination_keeps_the_filters(reviewer_client, url, project, reviewer):
    for i in range(55):
        make_review(TraceFactory(project=project, trace_id=f"page-{i}"), reviewer, reasoning="paged")
    first = reviewer_client.get(url, {"q": "paged"})
    assert len(listed(first)) == 50
    assert "q=paged&amp;page=2" in first.text
    second = reviewer_client.get(url, {"q": "paged", "page": 2}, **HTMX)
    assert len(listed(second)) == 5
    assert not set(listed(first)) & set(listed(second))


@pytest.mark.parametrize("count", [5, 300])
def test_page_query_count_does_not_grow_with_reviews(
    reviewer_client, url, project, reviewer, scorers, count, django_assert_max_num_queries
):
    _bulk_reviews(project, reviewer, scorers, count)
    # Session, user, membership (+ its last-visit update), count, one page of reviews with their
    # traces and reviewers joined, their scores, the filter form's choices: never one per row.
    with django_assert_max_num_queries(16):
        response = reviewer_client.get(url, {"scorer": scorers["outcome"].pk})
    assert response.status_code == 200
    assert len(listed(response)) == min(count, 50)


# -- export -------------------------------------------------------------------------------------


def _read_csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(body)))


def test_csv_export_has_one_row_per_review_and_a_column_per_scorer(reviewer_client, project, reviews):
    response = reviewer_client.get(export_url(project, "csv"))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _read_csv(response)
    assert [r["trace_id"] for r in rows] == ["t-plain", "t-bad", "t-good"]
    good = rows[2]
    assert (good["Outcome"], good["Accuracy"], good["Safe"]) == ("resolved", "4.5", "true")
    assert good["reasoning"] == "Helpful refund answer"
    assert rows[1]["trace_name"] == "'=HYPERLINK(evil)"  # never a live spreadsheet formula
    assert rows[0]["Outcome"] == "" and rows[0]["Safe"] == ""


def test_export_honours_the_filters(reviewer_client, project, reviews, scorers):
    response = reviewer_client.get(
        export_url(project, "csv"), {"scorer": scorers["safe"].pk, "flag": "false"}
    )
    assert [r["trace_id"] for r in _read_csv(response)] == ["t-bad"]


def test_jsonl_export(reviewer_client, project, reviews):
    response = reviewer_client.get(export_url(project, "jsonl"), {"q": "refund"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["trace_id"] == "t-good"
    assert record["scores"]["Accuracy"] == {
        "value": "4.5",
        "label": "4.5",
        "kind": "numeric",
        "scorer_version": 1,
    }
    assert record["scores"]["Outcome"]["value"] == ["resolved"]
    assert record["scores"]["Safe"]["value"] is True and record["scores"]["Safe"]["label"] == "Safe"


@pytest.mark.parametrize("count", [5, 300])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_query_count_is_bounded(
    reviewer_client, project, reviewer, scorers, count, fmt, django_assert_max_num_queries
):
    _bulk_reviews(project, reviewer, scorers, count)
    # Session (read + save), user, membership (+ update), scorer columns, and per 500-review
    # chunk: the reviews (trace, users joined) and their scores.
    with django_assert_max_num_queries(10):
        response = reviewer_client.get(export_url(project, fmt))
        body = b"".join(response.streaming_content)
    assert body.count(b"\n") == count + (1 if fmt == "csv" else 0)


def _bulk_reviews(project, user, scorers, count):
    o, a, s = scorers["outcome"].pk, scorers["accuracy"].pk, scorers["safe"].pk
    for i in range(count):
        make_review(
            TraceFactory(project=project),
            user,
            {
                o: ["resolved", "escalated", "abandoned"][i % 3],
                a: str(1 + (i % 9) * 0.5),
                s: "true" if i % 2 else "false",
            },
            reasoning=f"review {i}",
        )


def test_extreme_filter_values_are_never_a_500(reviewer_client, url, project, reviews, scorers):
    accuracy = scorers["accuracy"].pk
    for value in ["1e400", "-1e400", "9" * 40, "NaN", "Infinity", "0.0000000000001"]:
        response = reviewer_client.get(url, {"scorer": accuracy, "value_min": value, "value_max": value})
        assert response.status_code == 200, value
    for params in (
        {"reviewer": "9" * 30},
        {"scorer": "9" * 30},
        {"page": "9" * 30},
        {"updated_from": "9999-12-31"},
        {"updated_to": "9999-12-31"},
        {"updated_from": "0001-01-01", "updated_to": "0001-01-01"},
    ):
        assert reviewer_client.get(url, params).status_code == 200, params
        export = reviewer_client.get(export_url(project, "csv"), params)
        assert export.status_code == 200, params
        b"".join(export.streaming_content)


def test_csv_headers_are_guarded_against_formulas_like_cells(reviewer_client, project, reviewer):
    scorer = make_scorer(project, "=1+1", "boolean")
    make_scorer(project, "@SUM(A1)", "boolean")
    make_review(TraceFactory(project=project), reviewer, {scorer.pk: "true"})
    response = reviewer_client.get(export_url(project, "csv"))
    body = b"".join(response.streaming_content).decode().lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(body)))
    assert "'=1+1" in header and "'@SUM(A1)" in header
    assert not any(column.startswith(("=", "+", "-", "@")) for column in header)


def test_non_ascii_digits_in_value_filters_are_reported_not_read(reviewer_client, url, reviews, scorers):
    accuracy = scorers["accuracy"].pk
    # "٣" would be read as 3 by Decimal() and filter to the review scored 4.5.
    response = reviewer_client.get(url, {"scorer": accuracy, "value_min": "٣"})
    assert response.status_code == 200 and 'class="field-error"' in response.text
    ascii_ = reviewer_client.get(url, {"scorer": accuracy, "value_min": "3"})
    assert listed(ascii_) == ["t-good"]
