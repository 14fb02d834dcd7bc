"""How the trace pages present what they show: the tree keeps span names readable, empty I/O and
unknown costs read the same everywhere, timestamps and labels are consistent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.traces.view_data import T0, make_trace
from traces.ingest.normalise import ObservationIn, store_observations
from traces.links import trace_url

pytestmark = pytest.mark.django_db


def tree_row(html: str, span_id: str) -> str:
    """The tree's <li> for one observation."""
    for row in html.split('<li class="node ')[1:]:
        row = row.split("</li>", 1)[0]
        if f'data-span="{span_id}"' in row:
            return row
    raise AssertionError(span_id)


def test_tree_shows_the_name_apart_from_the_model_with_a_tooltip(reviewer_client, project):
    make_trace(project, "t-1", model="gpt-4o-2024-08-06")
    html = reviewer_client.get(trace_url(project.slug, "t-1")).content.decode()
    row = tree_row(html, "t-1-gen")
    # The model is its own element beside the name (it gives way first), not inside the numbers.
    assert '<span class="node-name" title="answer · gpt-4o-2024-08-06">answer</span>' in row
    assert '<span class="node-model" title="gpt-4o-2024-08-06">' in row
    meta = row.split('class="node-meta"', 1)[1]
    assert "node-model" not in meta


def test_empty_input_and_output_read_no_input_no_output_not_none(reviewer_client, project):
    make_trace(
        project,
        "t-1",
        extra=[
            ObservationIn(
                trace_id="t-1", span_id="t-1-empty", parent_id="t-1", kind="generation", name="silent"
            )
        ],
    )
    html = reviewer_client.get(trace_url(project.slug, "t-1") + "?span=t-1-empty").content.decode()
    detail = html.split('id="detail"', 1)[1]
    assert "No input" in detail and "No output" in detail
    assert ">None<" not in detail


def list_row(html: str, trace_id: str) -> str:
    for row in html.split("<tr")[1:]:
        if f'title="{trace_id}"' in row:
            return row.split("</tr>", 1)[0]
    raise AssertionError(trace_id)


def test_unknown_cost_is_a_dash_and_a_reported_zero_is_zero_on_every_page(reviewer_client, project):
    make_trace(project, "unknown", cost=None)
    make_trace(project, "zero", cost="0")
    listing = reviewer_client.get(reverse("traces:list", args=[project.slug])).content.decode()
    assert 'title="No cost reported">—<' in list_row(listing, "unknown")
    assert ">$0<" in list_row(listing, "zero")

    unknown = reviewer_client.get(trace_url(project.slug, "unknown") + "?span=unknown-gen").content.decode()
    head, detail = unknown.split('id="detail"', 1)
    assert '<dt>Cost</dt><dd class="num"><span class="muted" title="No cost reported">—</span>' in head
    assert 'title="No cost reported">—</span>' in tree_row(unknown, "unknown-gen")
    assert '<dt>Cost</dt><dd class="num">—</dd>' in detail
    assert "$0" not in unknown

    zero = reviewer_client.get(trace_url(project.slug, "zero") + "?span=zero-gen").content.decode()
    head, detail = zero.split('id="detail"', 1)
    assert '<dt>Cost</dt><dd class="num">$0</dd>' in head
    assert ">$0<" in tree_row(zero, "zero-gen")
    assert '<dt>Cost</dt><dd class="num">$0</dd>' in detail


def test_list_cells_that_css_truncates_carry_their_full_text_in_a_title(reviewer_client, project):
    long_id = "conversation-" + "x" * 60
    make_trace(project, long_id, name="a-rather-long-agent-name", model="claude-3-5-sonnet-20241022")
    html = reviewer_client.get(reverse("traces:list", args=[project.slug])).content.decode()
    row = list_row(html, long_id)
    # The whole id is in the cell (CSS ends it with an ellipsis), not cut by the server.
    assert f">{long_id}</a>" in row
    assert 'title="a-rather-long-agent-name"' in row
    assert 'title="claude-3-5-sonnet-20241022"' in row
    for column in ("col-latency", "col-tokens", "col-cost"):
        assert f'class="num {column}"' in html


def test_breadcrumb_ends_with_the_current_page_not_a_dangling_separator(reviewer_client, project):
    make_trace(project, "t-1", name="checkout-bot")
    html = reviewer_client.get(trace_url(project.slug, "t-1")).content.decode()
    crumbs = html.split('<nav class="crumbs"', 1)[1].split("</nav>", 1)[0]
    assert crumbs.endswith('<span aria-current="page">checkout-bot</span>')


def test_times_drop_zero_microseconds_and_keep_milliseconds(reviewer_client, project):
    make_trace(
        project,
        "t-1",
        extra=[
            ObservationIn(
                trace_id="t-1",
                span_id="t-1-ms",
                parent_id="t-1",
                kind="span",
                name="lookup",
                started_at=T0 + timedelta(seconds=1, microseconds=250_400),
            )
        ],
    )
    root = reviewer_client.get(trace_url(project.slug, "t-1") + "?span=t-1").content.decode()
    assert ">12:00:00</time>" in root and ".000000" not in root
    child = reviewer_client.get(trace_url(project.slug, "t-1") + "?span=t-1-ms").content.decode()
    assert ">12:00:01.250</time>" in child


def test_the_tree_and_the_detail_label_an_observation_the_same_way(reviewer_client, project):
    make_trace(project, "t-1")
    store_observations(
        project,
        [ObservationIn(trace_id="t-1", span_id="t-1", kind="span", name="support-chat", type_label="trace")],
    )
    html = reviewer_client.get(trace_url(project.slug, "t-1") + "?span=t-1").content.decode()
    assert '<span class="kind kind-span" title="span">trace</span>' in tree_row(html, "t-1")
    detail = html.split('id="detail"', 1)[1]
    assert '<span class="kind kind-span" title="Span">trace</span>' in detail
    assert ">Span<" not in detail
