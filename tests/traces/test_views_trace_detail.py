"""The trace page: access, header, tree, selected observation detail, htmx fragment, escaping,
encoded trace ids, and a query count that does not grow with the number of observations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.traces.view_data import T0, make_trace
from traces.ingest.normalise import MAX_FIELD_BYTES, ObservationIn, store_observations
from traces.links import trace_url

pytestmark = pytest.mark.django_db

XSS_OUTPUT = "<script>alert(1)</script> and <img src=x onerror=alert(1)>"


def test_member_sees_header_tree_and_default_detail(reviewer_client, project):
    make_trace(project, "t-1", name="checkout-bot", session_id="sess-9", answer="Paris is the capital.")
    response = reviewer_client.get(trace_url(project.slug, "t-1"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "checkout-bot" in html and "sess-9" in html
    assert [n.span_id for n in response.context["nodes"]] == ["t-1", "t-1-gen"]
    # The root span has a conversation: it is selected and rendered without ?span=.
    assert response.context["detail"].obs.span_id == "t-1"
    assert "Paris is the capital." in html
    assert 'aria-current="true"' in html


def test_member_of_another_project_gets_404(client, outsider, project):
    make_trace(project, "t-1")
    client.force_login(outsider)
    assert client.get(trace_url(project.slug, "t-1")).status_code == 404


def test_anonymous_is_sent_to_login(client, project):
    make_trace(project, "t-1")
    response = client.get(trace_url(project.slug, "t-1"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_unknown_trace_is_404(reviewer_client, project, other_project):
    make_trace(other_project, "theirs")
    assert reviewer_client.get(trace_url(project.slug, "theirs")).status_code == 404
    assert reviewer_client.get(trace_url(project.slug, "nope")).status_code == 404


def test_span_parameter_renders_that_observation_server_side(reviewer_client, project):
    make_trace(project, "t-1", answer="The answer text")
    response = reviewer_client.get(trace_url(project.slug, "t-1", span="t-1-gen"))
    detail = response.context["detail"]
    assert detail.obs.span_id == "t-1-gen"
    html = response.content.decode()
    assert "Be brief." in html  # the system message of the generation's input
    assert 'class="msg role-system"' in html and 'class="msg role-assistant"' in html
    assert "Upstream" not in html


def test_htmx_span_request_gets_only_the_detail_fragment(
    reviewer_client, project, django_assert_max_num_queries
):
    make_trace(project, "t-1")
    reviewer_client.get(trace_url(project.slug, "t-1"))  # session and last-project bookkeeping settle
    # session, user, membership, trace, the one observation: no tree query for a fragment
    with django_assert_max_num_queries(5):
        response = reviewer_client.get(
            trace_url(project.slug, "t-1", span="t-1-gen"),
            headers={"HX-Request": "true", "HX-Target": "detail"},
        )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="detail"')
    assert "<html" not in html and 'class="tree"' not in html
    assert "Be brief." in html


def test_nul_characters_in_ids_are_404_or_not_found_never_500(reviewer_client, project):
    make_trace(project, "t-1")
    assert reviewer_client.get(f"/p/{project.slug}/traces/t%00x/").status_code == 404
    response = reviewer_client.get(trace_url(project.slug, "t-1") + "?span=a%00b")
    assert response.status_code == 200 and "There is no observation" in response.content.decode()


def test_unknown_span_says_so(reviewer_client, project):
    make_trace(project, "t-1")
    response = reviewer_client.get(trace_url(project.slug, "t-1", span="missing<b>"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is no observation" in html and "missing&lt;b&gt;" in html


def test_tree_links_use_htmx_and_keep_a_real_href(reviewer_client, project):
    make_trace(project, "t-1")
    html = reviewer_client.get(trace_url(project.slug, "t-1")).content.decode()
    url = trace_url(project.slug, "t-1", span="t-1-gen")
    assert f'href="{url}" hx-get="{url}" hx-target="#detail" hx-swap="outerHTML" hx-push-url="true"' in html


@pytest.mark.parametrize(
    "trace_id",
    [
        "a-b_c~d.e@f(g)h!i'j:k|l",
        "with/slash/../and/./dots",
        "spaces and ?query#hash%25",
        "ünïcødé-🙂",
        "trailing/",
    ],
)
def test_trace_ids_with_special_characters_round_trip(reviewer_client, project, trace_id):
    make_trace(project, trace_id)
    list_html = reviewer_client.get(f"/p/{project.slug}/traces/").content.decode()
    url = trace_url(project.slug, trace_id)
    assert f'href="{url.replace("&", "&amp;").replace(chr(39), "&#x27;")}"' in list_html
    assert "/../" not in url and "/./" not in url  # a browser would normalise those away
    response = reviewer_client.get(url)
    assert response.status_code == 200
    assert response.context["trace"].trace_id == trace_id
    span_url = trace_url(project.slug, trace_id, span=f"{trace_id}-gen")
    assert reviewer_client.get(span_url).context["detail"].obs.span_id == f"{trace_id}-gen"


def test_output_with_html_is_escaped(reviewer_client, project):
    make_trace(project, "xss", answer=XSS_OUTPUT, name="<b>bold name</b>")
    html = reviewer_client.get(trace_url(project.slug, "xss", span="xss-gen")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>bold name</b>" not in html
    list_html = reviewer_client.get(f"/p/{project.slug}/traces/").content.decode()
    assert "<b>bold name</b>" not in list_html and "<script>alert" not in list_html


def test_page_is_served_with_a_strict_content_security_policy(reviewer_client, project):
    make_trace(project, "t-1")
    csp = reviewer_client.get(trace_url(project.slug, "t-1"))["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "img-src 'self'" in csp and "default-src 'self'" in csp
    assert "unsafe-inline" not in csp


def test_images_in_messages_are_links_and_never_loaded(reviewer_client, project):
    store_observations(
        project,
        [
            ObservationIn(
                trace_id="img",
                span_id="g",
                kind="generation",
                input=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "What is in this picture?"},
                            {"type": "image_url", "image_url": {"url": "https://evil.example/pixel.png"}},
                            {"type": "image_url", "image_url": {"url": "javascript:alert(1)"}},
                        ],
                    }
                ],
            )
        ],
    )
    html = reviewer_client.get(trace_url(project.slug, "img", span="g")).content.decode()
    assert "<img" not in html
    assert 'href="https://evil.example/pixel.png"' in html
    assert "javascript:alert" not in html.split("Raw JSON")[0]  # not a link; only in the escaped raw view


def test_header_shows_feedback_and_metrics(reviewer_client, project):
    make_trace(
        project,
        "t-1",
        extra=[
            ObservationIn(
                trace_id="t-1",
                span_id="fb",
                kind="event",
                name="$ai_feedback",
                metadata={"$ai_feedback_text": "Wrong answer, <i>again</i>"},
            ),
            ObservationIn(
                trace_id="t-1",
                span_id="m",
                kind="event",
                name="$ai_metric",
                metadata={"$ai_metric_name": "helpfulness", "$ai_metric_value": 0.25},
            ),
        ],
    )
    response = reviewer_client.get(trace_url(project.slug, "t-1"))
    html = response.content.decode()
    assert "Wrong answer, &lt;i&gt;again&lt;/i&gt;" in html
    assert "helpfulness" in html and "0.25" in html
    assert all(n.obs.kind != "event" for n in response.context["nodes"])


def test_detail_shows_metadata_parameters_tools_error_and_http_status(reviewer_client, project):
    store_observations(
        project,
        [
            ObservationIn(
                trace_id="t",
                span_id="g",
                kind="generation",
                model="gpt-4o",
                http_status=429,
                is_error=True,
                error="Rate limited: retry later",
                model_parameters={"temperature": 0.3},
                tools=[
                    {"type": "function", "function": {"name": "lookup_order", "description": "Find an order"}}
                ],
                metadata={"$lib": "posthog-python", "nested": {"a": [1, 2]}},
                total_cost=Decimal("0.0123"),
                input_tokens=10,
                output_tokens=3,
            )
        ],
    )
    html = reviewer_client.get(trace_url(project.slug, "t", span="g")).content.decode()
    for text in (
        "Rate limited: retry later",
        "429",
        "temperature",
        "lookup_order",
        "Find an order",
        "$lib",
        "posthog-python",
        "$0.0123",
    ):
        assert text in html, text
    assert '"a": [' in html.replace("&quot;", '"')


def test_truncated_fields_are_marked(reviewer_client, project):
    big = "x" * (MAX_FIELD_BYTES + 10)
    store_observations(
        project, [ObservationIn(trace_id="big", span_id="g", kind="generation", output=big * 1)]
    )
    html = reviewer_client.get(trace_url(project.slug, "big", span="g")).content.decode()
    assert "truncated" in html and "original" in html


def test_unknown_shapes_fall_back_to_escaped_raw_json(reviewer_client, project):
    store_observations(
        project,
        [
            ObservationIn(
                trace_id="t", span_id="s", kind="span", output={"docs": ["<b>doc</b>"], "score": 0.5}
            )
        ],
    )
    html = reviewer_client.get(trace_url(project.slug, "t", span="s")).content.decode()
    assert '<pre class="json">{\n  &quot;docs&quot;: [\n    &quot;&lt;b&gt;doc&lt;/b&gt;&quot;' in html


def _big_trace(project, count: int) -> None:
    items = [ObservationIn(trace_id="big", span_id="root", kind="span", name="agent", started_at=T0)]
    for i in range(count - 1):
        items.append(
            ObservationIn(
                trace_id="big",
                span_id=f"s{i}",
                parent_id="root" if i % 10 == 0 else f"s{i - i % 10}",
                kind="generation" if i % 2 else "span",
                name=f"step {i}",
                model="gpt-4o-mini" if i % 2 else "",
                started_at=T0 + timedelta(milliseconds=i),
                latency=0.1,
                input=[{"role": "user", "content": "x" * 200}],
                output=[{"role": "assistant", "content": "y" * 200}],
                total_cost=Decimal("0.001") if i % 2 else None,
            )
        )
    store_observations(project, items)


@pytest.mark.parametrize("observations", [5, 200])
def test_query_count_does_not_grow_with_observations(
    reviewer_client, project, observations, django_assert_max_num_queries
):
    _big_trace(project, observations)
    url = trace_url(project.slug, "big", span="s1")
    reviewer_client.get(url)  # session and last-project bookkeeping settle
    # session, user, membership, trace, tree, events, selected observation, project switcher,
    # and the queue and review pieces (queues, pending item, review): none depends on the tree size
    with django_assert_max_num_queries(11):
        response = reviewer_client.get(url)
    assert len(response.context["nodes"]) == observations
    assert response.context["detail"].obs.span_id == "s1"


def test_trace_page_hosts_the_review_panel_and_the_queue_pieces(reviewer_client, project):
    from tests.queues.factories import QueueItemFactory, ReviewQueueFactory
    from traces.models import Trace

    make_trace(project, "t-1")
    queue = ReviewQueueFactory(project=project, name="Triage")
    QueueItemFactory(queue=queue, trace=Trace.objects.get(project=project, trace_id="t-1"))
    html = reviewer_client.get(trace_url(project.slug, "t-1") + f"?queue={queue.pk}").content.decode()
    assert 'id="review-panel"' in html
    assert "data-queue-bar" in html and "1 of 1 pending" in html
    assert 'id="queue-add"' in html


def test_trace_absolute_url_encodes_slashes_and_opens_the_page(client, project, reviewer):
    from traces.ingest.normalise import ObservationIn, store_observations
    from traces.models import Trace

    store_observations(project, [ObservationIn(trace_id="a/../b:1", span_id="s1", name="root")])
    trace = Trace.objects.get(project=project, trace_id="a/../b:1")
    assert "%2F" in trace.get_absolute_url()
    client.force_login(reviewer)
    response = client.get(trace.get_absolute_url())
    assert response.status_code == 200 and b"a/../b:1" in response.content


def test_span_links_keep_the_queue_context(client, project, reviewer):
    from traces.ingest.normalise import ObservationIn, store_observations

    store_observations(
        project,
        [
            ObservationIn(trace_id="t-q", span_id="root", name="root"),
            ObservationIn(trace_id="t-q", span_id="child", parent_id="root", name="child"),
        ],
    )
    client.force_login(reviewer)
    html = client.get(f"/p/{project.slug}/traces/t-q/?queue=7").content.decode()
    assert "?span=child&amp;queue=7" in html
    html = client.get(f"/p/{project.slug}/traces/t-q/").content.decode()
    assert '?span=child"' in html


def test_deeply_nested_content_renders_instead_of_crashing(client, project, reviewer):
    from traces.ingest.normalise import ObservationIn, store_observations

    deep_text = "[" * 20000 + "]" * 20000
    deep_value: list = []
    for _ in range(900):
        deep_value = [deep_value]
    store_observations(
        project,
        [
            ObservationIn(trace_id="deep", span_id="a", kind="generation", input=deep_text, output="ok"),
            ObservationIn(trace_id="deep", span_id="b", kind="generation", input=deep_value, output="ok"),
        ],
    )
    client.force_login(reviewer)
    assert client.get(f"/p/{project.slug}/traces/deep/?span=a").status_code == 200
    assert client.get(f"/p/{project.slug}/traces/deep/?span=b").status_code == 200
