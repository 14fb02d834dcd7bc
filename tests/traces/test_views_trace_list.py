"""The traces list: access, filters, keyset pagination, htmx fragment, query count."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests.traces.view_data import T0, make_trace, make_traces
from traces.links import trace_url
from traces.pagination import PAGE_SIZE

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the model choices are cached per project id, which tests reuse
    yield
    cache.clear()


def list_url(project, **params) -> str:
    url = reverse("traces:list", args=[project.slug])
    if params:
        from urllib.parse import urlencode

        url += "?" + urlencode(params)
    return url


def shown_ids(response) -> list[str]:
    return [t.trace_id for t in response.context["page"].rows]


def test_member_sees_traces_newest_first(reviewer_client, project):
    make_trace(project, "older", started_at=T0)
    make_trace(project, "newer", started_at=T0 + timedelta(hours=1))
    response = reviewer_client.get(list_url(project))
    assert response.status_code == 200
    assert shown_ids(response) == ["newer", "older"]
    html = response.content.decode()
    assert "How do I reset my password?" in html  # first-input preview
    assert "gpt-4o-mini" in html
    assert 'href="' + trace_url(project.slug, "newer") + '"' in html


def test_viewer_can_read_the_list(client, viewer, project):
    client.force_login(viewer)
    assert client.get(list_url(project)).status_code == 200


def test_member_of_another_project_gets_404(client, outsider, project):
    make_trace(project, "secret")
    client.force_login(outsider)
    response = client.get(list_url(project))
    assert response.status_code == 404
    assert b"secret" not in response.content


def test_anonymous_is_sent_to_login(client, project):
    response = client.get(list_url(project))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_traces_of_other_projects_are_not_listed(reviewer_client, project, other_project):
    make_trace(project, "mine")
    make_trace(other_project, "theirs")
    assert shown_ids(reviewer_client.get(list_url(project))) == ["mine"]


def test_htmx_request_gets_only_the_results_fragment(reviewer_client, project):
    make_trace(project, "t1", question="Where is my order?")
    response = reviewer_client.get(
        list_url(project, q="order"), headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html and 'class="filters"' not in html
    assert "Where is my order?" in html
    assert "HX-Request" in response["Vary"]


def test_htmx_fragment_with_no_match_links_back_to_the_unfiltered_list(reviewer_client, project):
    make_trace(project, "t1")
    response = reviewer_client.get(
        list_url(project, q="nothing-like-this"), headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert f'<a href="/p/{project.slug}/traces/">Clear the filters</a>' in response.content.decode()


def test_htmx_history_restore_gets_the_full_page(reviewer_client, project):
    response = reviewer_client.get(
        list_url(project),
        headers={"HX-Request": "true", "HX-Target": "results", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in response.content.decode()


def test_full_page_has_filters_with_htmx_and_real_hrefs(reviewer_client, project):
    make_traces(project, PAGE_SIZE + 1)
    html = reviewer_client.get(list_url(project)).content.decode()
    assert f'hx-get="/p/{project.slug}/traces/"' in html
    assert 'hx-push-url="true"' in html
    # The pagination link works without JavaScript too.
    assert 'rel="next" href="?after=' in html


class TestFilters:
    def test_search_matches_trace_id_name_session_and_previews_case_insensitively(
        self, reviewer_client, project
    ):
        make_trace(project, "ID-Alpha-1", name="checkout", question="q", answer="a")
        make_trace(project, "id-2", name="Refund Flow", question="q", answer="a")
        make_trace(project, "id-3", name="x", session_id="Sess-42", question="q", answer="a")
        make_trace(project, "id-4", name="x", question="My PARCEL is late", answer="a")
        make_trace(project, "id-5", name="x", question="q", answer="Your parcel SHIPPED")
        make_trace(project, "id-6", name="x", question="q", answer="a")

        def search(q):
            return sorted(shown_ids(reviewer_client.get(list_url(project, q=q))))

        assert search("alpha") == ["ID-Alpha-1"]
        assert search("refund flow") == ["id-2"]
        assert search("sess-42") == ["id-3"]
        assert search("parcel") == ["id-4", "id-5"]
        assert search("  ") == sorted(["ID-Alpha-1", "id-2", "id-3", "id-4", "id-5", "id-6"])

    def test_time_range_presets(self, reviewer_client, project):
        now = timezone.now()
        make_trace(project, "recent", started_at=now - timedelta(minutes=10))
        make_trace(project, "yesterday", started_at=now - timedelta(hours=30))
        make_trace(project, "last-month", started_at=now - timedelta(days=20))
        make_trace(project, "ancient", started_at=now - timedelta(days=400))
        assert shown_ids(reviewer_client.get(list_url(project, range="1h"))) == ["recent"]
        assert shown_ids(reviewer_client.get(list_url(project, range="24h"))) == ["recent"]
        assert shown_ids(reviewer_client.get(list_url(project, range="7d"))) == ["recent", "yesterday"]
        assert shown_ids(reviewer_client.get(list_url(project, range="30d"))) == [
            "recent",
            "yesterday",
            "last-month",
        ]
        assert len(shown_ids(reviewer_client.get(list_url(project)))) == 4

    def test_custom_from_and_to(self, reviewer_client, project):
        make_trace(project, "before", started_at=T0 - timedelta(days=2))
        make_trace(project, "inside", started_at=T0)
        make_trace(project, "after", started_at=T0 + timedelta(days=2))
        response = reviewer_client.get(list_url(project, start="2026-11-30T12:00", end="2026-12-02T12:00"))
        assert shown_ids(response) == ["inside"]
        assert shown_ids(reviewer_client.get(list_url(project, start="2026-11-30T12:00"))) == [
            "after",
            "inside",
        ]

    def test_model_filter_offers_the_projects_models_and_matches_exactly(
        self, reviewer_client, project, other_project
    ):
        make_trace(project, "mini", model="gpt-4o-mini")
        make_trace(project, "full", model="gpt-4o")
        make_trace(other_project, "elsewhere", model="claude-3-opus")
        response = reviewer_client.get(list_url(project))
        choices = [value for value, _ in response.context["filter"].form.fields["model"].choices if value]
        assert choices == ["gpt-4o", "gpt-4o-mini"]
        assert shown_ids(reviewer_client.get(list_url(project, model="gpt-4o"))) == ["full"]
        assert shown_ids(reviewer_client.get(list_url(project, model="gpt-4o-mini"))) == ["mini"]

    def test_unknown_model_is_a_visible_form_error_not_a_500(self, reviewer_client, project):
        make_trace(project, "mini")
        response = reviewer_client.get(list_url(project, model="no-such-model"))
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()

    def test_has_error(self, reviewer_client, project):
        make_trace(project, "ok", started_at=T0)
        make_trace(project, "failed", started_at=T0 + timedelta(minutes=1), is_error=True)
        assert shown_ids(reviewer_client.get(list_url(project, error="yes"))) == ["failed"]
        assert shown_ids(reviewer_client.get(list_url(project, error="no"))) == ["ok"]

    def test_min_latency_and_min_cost(self, reviewer_client, project):
        make_trace(project, "fast-cheap", started_at=T0, latency=0.5, cost="0.0001")
        make_trace(project, "slow-cheap", started_at=T0 + timedelta(minutes=1), latency=8, cost="0.0001")
        make_trace(project, "fast-dear", started_at=T0 + timedelta(minutes=2), latency=0.5, cost="0.5")
        assert shown_ids(reviewer_client.get(list_url(project, min_latency="5"))) == ["slow-cheap"]
        assert shown_ids(reviewer_client.get(list_url(project, min_cost="0.01"))) == ["fast-dear"]
        assert shown_ids(reviewer_client.get(list_url(project, min_latency="5", min_cost="0.01"))) == []

    def test_bad_filter_values_never_500(self, reviewer_client, project):
        make_trace(project, "t")
        bad = [
            {"min_cost": "abc"},
            {"min_cost": "1e400"},
            {"min_latency": "-1e400"},
            {"min_cost": "NaN"},
            {"start": "yesterday"},
            {"start": "0001-01-01T00:00"},
            {"end": "9999-12-31T23:59"},
            {"range": "5y"},
            {"after": "garbage"},
            {"after": "99999999999999999999999_1"},
            {"before": "-99999999999999999999_-1"},
            {"q": "\x00%_'\"\\"},
        ]
        for params in bad:
            assert reviewer_client.get(list_url(project, **params)).status_code == 200, params


class TestKeysetPagination:
    def test_walks_forward_and_back_without_gaps_or_repeats(self, reviewer_client, project):
        ids = make_traces(project, PAGE_SIZE * 2 + 7)
        newest_first = list(reversed(ids))
        seen: list[str] = []
        url = list_url(project)
        pages = []
        while url:
            response = reviewer_client.get(url)
            pages.append(shown_ids(response))
            seen += shown_ids(response)
            page = response.context["page"]
            url = list_url(project, after=page.next_cursor) if page.next_cursor else None
        assert seen == newest_first
        assert [len(p) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 7]

        # Back from the last page via "newer" links.
        response = reviewer_client.get(list_url(project, before=response.context["page"].prev_cursor))
        assert shown_ids(response) == pages[1]
        response = reviewer_client.get(list_url(project, before=response.context["page"].prev_cursor))
        assert shown_ids(response) == pages[0]
        assert response.context["page"].prev_cursor is None

    def test_ties_on_start_time_are_ordered_by_id(self, reviewer_client, project):
        ids = make_traces(project, PAGE_SIZE + 3, start=T0)
        # Same start time for all: only the id tiebreaker separates the pages.
        from traces.models import Trace

        Trace.objects.filter(project=project).update(started_at=T0)
        first = reviewer_client.get(list_url(project))
        second = reviewer_client.get(list_url(project, after=first.context["page"].next_cursor))
        together = shown_ids(first) + shown_ids(second)
        assert sorted(together) == sorted(ids) and len(set(together)) == len(ids)

    def test_pagination_keeps_the_filters(self, reviewer_client, project):
        make_traces(project, PAGE_SIZE + 5)
        html = reviewer_client.get(list_url(project, q="turn", model="gpt-4o-mini")).content.decode()
        next_href = html.split('rel="next" href="')[1].split('"')[0]
        params = parse_qs(urlparse(next_href.replace("&amp;", "&")).query)
        assert params["q"] == ["turn"] and params["model"] == ["gpt-4o-mini"] and "after" in params

    def test_count_is_exact_under_the_cap_and_capped_beyond(self, reviewer_client, project):
        from traces.models import Trace
        from traces.pagination import capped_count

        make_traces(project, PAGE_SIZE + 1)
        assert "51 traces" in reviewer_client.get(list_url(project)).content.decode()
        assert capped_count(Trace.objects.filter(project=project), cap=10) == (10, True)
        assert capped_count(Trace.objects.filter(project=project), cap=100) == (51, False)


@pytest.mark.parametrize("rows", [5, 200])
def test_query_count_does_not_grow_with_rows(reviewer_client, project, rows, django_assert_max_num_queries):
    make_traces(project, rows)
    reviewer_client.get(list_url(project))  # session and last-project bookkeeping settle
    # session, user, membership, model choices, capped count, page rows, project switcher,
    # queues for the bulk-add bar, pending queue of the page's rows (one query for all of them),
    # queues for the queue filter's choices
    with django_assert_max_num_queries(10):
        response = reviewer_client.get(list_url(project, q="turn", error="no"))
    assert len(shown_ids(response)) == min(rows, PAGE_SIZE)


def test_reviewers_get_row_checkboxes_and_the_bulk_add_bar_viewers_do_not(client, reviewer, viewer, project):
    make_trace(project, "t1")
    client.force_login(reviewer)
    html = client.get(list_url(project)).content.decode()
    assert 'form="bulk-add"' in html and 'id="bulk-add"' in html
    client.force_login(viewer)
    html = client.get(list_url(project)).content.decode()
    assert 'form="bulk-add"' not in html and 'id="bulk-add"' not in html


def test_queue_column_names_the_queue_a_trace_is_pending_in(reviewer_client, project):
    from tests.queues.factories import QueueItemFactory, ReviewQueueFactory
    from traces.models import Trace

    make_trace(project, "queued", started_at=T0)
    make_trace(project, "free", started_at=T0 + timedelta(minutes=1))
    queue = ReviewQueueFactory(project=project, name="Escalations <2>")
    QueueItemFactory(queue=queue, trace=Trace.objects.get(project=project, trace_id="queued"))
    html = reviewer_client.get(list_url(project)).content.decode()
    assert html.count('class="badge queue"') == 1
    assert (
        f'class="badge queue" href="/p/{project.slug}/queues/{queue.pk}/" title="Escalations &lt;2&gt;">'
        "Escalations &lt;2&gt;</a>" in html
    )
