"""The traces list's bulk "add to a queue" bar as htmx uses it: a refusal is a styled fragment
shown in place, and a success asks the list to re-fetch its results (badges, cleared selection)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.queues.factories import ReviewQueueFactory
from tests.traces.factories import TraceFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def bulk_url(project):
    return reverse("queues:bulk_add", args=[project.slug])


def test_bulk_add_success_asks_the_traces_list_to_refresh(reviewer_client, project):
    TraceFactory.create_batch(2, project=project)
    data = {"all": "1", "filters": "", "new_name": "Fresh"}
    response = reviewer_client.post(bulk_url(project), data, **HTMX)
    assert response.status_code == 200
    assert "traces-queued" in response["HX-Trigger-After-Settle"]


def test_bulk_add_refusal_is_a_styled_fragment_and_no_refresh(reviewer_client, project):
    TraceFactory(project=project)
    ReviewQueueFactory(project=project, name="Taken")
    data = {"all": "1", "filters": "", "new_name": "Taken"}
    response = reviewer_client.post(bulk_url(project), data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'class="bulk-result alert"' in html and "already exists" in html
    assert "<html" not in html
    assert "HX-Trigger-After-Settle" not in response


def test_traces_list_results_refetch_after_a_bulk_add_and_keep_the_message(reviewer_client, project):
    TraceFactory(project=project)
    html = reviewer_client.get(reverse("traces:list", args=[project.slug]) + "?q=x").content.decode()
    assert 'hx-trigger="traces-queued from:body"' in html
    assert f'hx-get="/p/{project.slug}/traces/?q=x"' in html
    assert '<div id="bulk-result" aria-live="polite" hx-preserve>' in html


def test_queue_breadcrumb_ends_with_the_queue_name(reviewer_client, project):
    queue = ReviewQueueFactory(project=project, name="Escalations")
    html = reviewer_client.get(reverse("queues:detail", args=[project.slug, queue.pk])).content.decode()
    crumbs = html.split('<nav class="crumbs"', 1)[1].split("</nav>", 1)[0]
    assert crumbs.endswith('<span aria-current="page">Escalations</span>')
