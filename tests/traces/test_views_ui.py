"""How the trace pages present what they show: the tree keeps span names readable, empty I/O and
unknown costs read the same everywhere, timestamps and labels are consistent."""

from __future__ import annotations

import re

import pytest

from tests.traces.view_data import make_trace
from traces.links import trace_url

pytestmark = pytest.mark.django_db


def tree_row(html: str, span_id: str) -> str:
    match = re.search(
        r'<li class="node[^"]*"[^>]*>(?:(?!</li>).)*data-span="%s"(?:(?!</li>).)*</li>' % re.escape(span_id),
        html,
        re.S,
    )
    assert match, span_id
    return match.group(0)


def test_tree_shows_the_name_apart_from_the_model_with_a_tooltip(reviewer_client, project):
    make_trace(project, "t-1", model="gpt-4o-2024-08-06")
    html = reviewer_client.get(trace_url(project.slug, "t-1")).content.decode()
    row = tree_row(html, "t-1-gen")
    # The model is its own element beside the name (it gives way first), not inside the numbers.
    assert '<span class="node-name" title="answer · gpt-4o-2024-08-06">answer</span>' in row
    assert '<span class="node-model" title="gpt-4o-2024-08-06">' in row
    meta = row.split('class="node-meta"', 1)[1]
    assert "node-model" not in meta
