"""PostHog-compatible ingestion endpoints: what is stored, and every kind of bad input."""

from __future__ import annotations

import gzip
import json
import zlib
from decimal import Decimal

import pytest

from projects.models import IngestionKey
from tests.traces.factories import ai_event, generation, issue_key
from traces.models import Observation, Trace

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/batch/", "/i/v0/ai/batch/", "/i/v0/e/", "/capture/"]


@pytest.fixture
def key(project):
    return issue_key(project)


def post(client, path, body, **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", headers=headers)


def batch(key, *events):
    return {"api_key": key, "batch": list(events), "sent_at": "2026-12-01T12:00:01+00:00"}


# --- what is stored -------------------------------------------------------------------------


def test_generation_is_stored_with_every_mapped_property(client, project, key):
    event = generation(
        "t-1",
        span_id="gen-1",
        parent_id="t-1",
        span_name="answer",
        session_id="sess-9",
        input_tokens=120,
        output_tokens=30,
        cache_read_input_tokens=100,
        reasoning_tokens=7,
        total_cost_usd=0.0125,
        input_cost_usd=0.01,
        output_cost_usd=0.0025,
        latency=2.0,
        http_status=200,
        base_url="https://api.openai.com/v1",
        model_parameters={"temperature": 0.2},
        tools=[{"type": "function", "function": {"name": "lookup"}}],
        stop_reason="stop",
        **{"$lib": "posthog-python", "$custom_flag": True},
        timestamp="2026-12-01T12:00:10+00:00",
    )
    response = post(client, "/batch/", batch(key, event))
    assert response.status_code == 200, response.content
    assert response.json() == {"status": 1, "accepted": 1, "ignored": 0, "rejected": []}

    obs = Observation.objects.get(trace__project=project, trace__trace_id="t-1")
    assert (obs.span_id, obs.parent_id, obs.kind, obs.name) == ("gen-1", "t-1", "generation", "answer")
    assert (obs.model, obs.provider, obs.session_id, obs.distinct_id) == (
        "gpt-4o-mini",
        "openai",
        "sess-9",
        "user-1",
    )
    assert (obs.input_tokens, obs.output_tokens, obs.cache_read_tokens, obs.reasoning_tokens) == (
        120,
        30,
        100,
        7,
    )
    assert obs.total_cost == Decimal("0.0125") and obs.input_cost == Decimal("0.01")
    assert obs.latency == 2.0 and obs.http_status == 200 and obs.stop_reason == "stop"
    # PostHog stamps events when captured, after the call: the timestamp is the end.
    assert obs.ended_at.isoformat() == "2026-12-01T12:00:10+00:00"
    assert obs.started_at.isoformat() == "2026-12-01T12:00:08+00:00"
    assert obs.input == [{"role": "user", "content": "What is the capital of France?"}]
    assert obs.output == [{"role": "assistant", "content": "Paris."}]
    assert obs.model_parameters == {"temperature": 0.2} and obs.tools[0]["function"]["name"] == "lookup"
    assert obs.metadata["$lib"] == "posthog-python" and obs.metadata["$custom_flag"] is True
    assert obs.metadata["$ai_base_url"] == "https://api.openai.com/v1"
    assert "$ai_input" not in obs.metadata and "$ai_output_choices" not in obs.metadata
    assert obs.event_uuid == event["uuid"] and obs.source == "posthog"

    trace = obs.trace
    assert (trace.input_tokens, trace.output_tokens, trace.total_cost) == (120, 30, Decimal("0.0125"))
    assert trace.models_list == ["gpt-4o-mini"] and trace.session_id == "sess-9"
    assert trace.input_preview == "What is the capital of France?" and trace.output_preview == "Paris."


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_accepts_a_batch_body_a_list_and_one_event(client, project, key, path):
    assert post(client, path, batch(key, generation("a"))).json()["accepted"] == 1
    assert post(client, path, [{**generation("b"), "api_key": key}]).json()["accepted"] == 1
    assert post(client, path, {**generation("c"), "token": key}).json()["accepted"] == 1
    assert set(Trace.objects.filter(project=project).values_list("trace_id", flat=True)) == {"a", "b", "c"}


def test_key_as_bearer_token_or_in_properties(client, project, key):
    assert post(client, "/i/v0/e/", generation("a"), Authorization=f"Bearer {key}").status_code == 200
    event = generation("b")
    event["properties"]["token"] = key
    assert post(client, "/capture/", event).status_code == 200
    stored = Observation.objects.get(trace__trace_id="b")
    assert "token" not in stored.metadata, "the ingestion key must never be stored"


def test_trace_span_and_generation_build_a_tree_named_by_the_trace(client, project, key):
    events = [
        generation("t", span_id="g1", parent_id="s1", timestamp="2026-12-01T12:00:03+00:00", latency=1),
        ai_event(
            "$ai_span",
            trace_id="t",
            span_id="s1",
            span_name="retrieve",
            input_state={"q": "x"},
            output_state={"docs": 3},
            latency=2,
            timestamp="2026-12-01T12:00:04+00:00",
        ),  # fmt: skip
        ai_event(
            "$ai_trace",
            trace_id="t",
            span_name="chat-turn",
            latency=5,
            timestamp="2026-12-01T12:00:05+00:00",
            input_state=[{"role": "user", "content": "hi"}],
            output_state="hello",
        ),  # fmt: skip
        ai_event(
            "$ai_embedding",
            trace_id="t",
            span_id="e1",
            model="text-embedding-3-small",
            input="hi",
            input_tokens=2,
            total_cost_usd=0.00001,
        ),  # fmt: skip
    ]
    assert post(client, "/batch/", batch(key, *events)).json()["accepted"] == 4
    trace = Trace.objects.get(project=project, trace_id="t")
    by_id = {o.span_id: o for o in trace.observations.all()}
    assert by_id["t"].kind == "span" and by_id["t"].parent_id == "" and by_id["t"].name == "chat-turn"
    assert (
        by_id["s1"].parent_id == "t" and by_id["s1"].input == {"q": "x"} and by_id["s1"].output == {"docs": 3}
    )
    assert by_id["g1"].parent_id == "s1"
    assert by_id["e1"].kind == "embedding" and by_id["e1"].parent_id == "t"
    assert trace.name == "chat-turn"
    assert trace.started_at.isoformat() == "2026-12-01T12:00:00+00:00"
    assert trace.latency == 5.0
    assert trace.input_preview == "hi" and trace.output_preview == "hello"
    assert trace.observation_count == 4


def test_agent_integrations_span_type_and_trace_name(client, project, key):
    events = [
        ai_event("$ai_trace", trace_id="t", trace_name="Agent workflow"),
        ai_event("$ai_span", trace_id="t", span_id="s", span_name="get_weather", span_type="tool"),
    ]
    post(client, "/batch/", batch(key, *events))
    trace = Trace.objects.get(trace_id="t")
    assert trace.name == "Agent workflow"
    assert trace.observations.get(span_id="s").type_label == "tool"


def test_feedback_and_metric_are_trace_events_that_do_not_stretch_the_trace(client, project, key):
    events = [
        generation("t", span_id="g1", latency=1, timestamp="2026-12-01T12:00:01+00:00"),
        ai_event(
            "$ai_feedback",
            trace_id="t",
            feedback_text="Wrong city!",
            span_id="g1",
            timestamp="2026-12-01T15:00:00+00:00",
        ),  # fmt: skip
        ai_event(
            "$ai_metric",
            trace_id="t",
            metric_name="helpfulness",
            metric_value=0.25,
            timestamp="2026-12-01T15:00:00+00:00",
        ),  # fmt: skip
    ]
    assert post(client, "/batch/", batch(key, *events)).json()["accepted"] == 3
    trace = Trace.objects.get(trace_id="t")
    feedback = trace.observations.get(type_label="feedback")
    metric = trace.observations.get(type_label="metric")
    assert feedback.kind == metric.kind == "event"
    assert feedback.output == "Wrong city!" and feedback.metadata["$ai_feedback_text"] == "Wrong city!"
    assert metric.name == "helpfulness" and metric.output == 0.25
    # The feedback names g1 as its span but must not replace it.
    assert trace.observations.get(span_id="g1").kind == "generation"
    assert trace.latency == 1.0 and trace.observation_count == 1


def test_error_generation_marks_the_trace(client, project, key):
    event = generation("t", http_status=429, is_error=True, error={"message": "Rate limit reached"},
                       output_choices=[])  # fmt: skip
    post(client, "/batch/", batch(key, event))
    obs = Observation.objects.get(trace__trace_id="t")
    assert obs.is_error and obs.http_status == 429 and "Rate limit reached" in obs.error
    assert obs.trace.has_error


def test_non_ai_events_are_counted_as_ignored(client, project, key):
    body = batch(key, {"event": "$pageview", "properties": {}, "distinct_id": "u"}, generation("t"))
    assert post(client, "/batch/", body).json() == {"status": 1, "accepted": 1, "ignored": 1, "rejected": []}


def test_the_sdk_request_bodies_in_the_shared_fixtures_are_accepted(client, project, key, fixtures_dir):
    for path in sorted((fixtures_dir / "posthog").glob("sdk-*.json")):
        body = json.loads(path.read_text())
        body["api_key"] = key
        endpoint = "/i/v0/ai/batch/" if "ai-lane" in path.name else "/batch/"
        response = post(client, endpoint, body)
        assert response.status_code == 200, (path.name, response.content)
        assert response.json()["accepted"] == len(body["batch"]), path.name
    trace = Trace.objects.get(project=project, trace_id="trace-abc")
    assert trace.name == "chat-turn" and trace.has_error
    assert trace.models_list == ["fail-model", "gpt-4o-mini"]
    assert trace.observations.get(span_id="span-1").parent_id == "trace-abc"


# --- idempotency and ordering ---------------------------------------------------------------


def test_resending_a_batch_stores_each_event_once_and_leaves_it_untouched(client, project, key):
    body = batch(key, generation("t"), generation("t"), generation("u"))
    post(client, "/batch/", body)
    first = {o.pk: o.received_at for o in Observation.objects.all()}
    assert post(client, "/batch/", body).json()["accepted"] == 3
    assert Observation.objects.count() == 3 and Trace.objects.count() == 2
    assert {o.pk: o.received_at for o in Observation.objects.all()} == first


def test_a_later_copy_of_a_span_replaces_the_stored_one(client, project, key):
    post(client, "/batch/", batch(key, generation("t", span_id="g", output_choices=[{"content": "draft"}])))
    post(client, "/batch/", batch(key, generation("t", span_id="g", output_choices=[{"content": "final"}])))
    obs = Observation.objects.get(trace__trace_id="t")
    assert obs.output == [{"content": "final"}] and obs.trace.output_preview == "final"


def test_events_out_of_order_give_the_same_trace_fields(client, project, key):
    trace_event = ai_event("$ai_trace", trace_id="t", span_name="agent-run", latency=4,
                           timestamp="2026-12-01T12:00:04+00:00")  # fmt: skip
    span = ai_event("$ai_span", trace_id="t", span_id="s", parent_id="t", span_name="tool", latency=1,
                    timestamp="2026-12-01T12:00:02+00:00")  # fmt: skip
    child = generation("t", span_id="g", parent_id="s", latency=0.5, total_cost_usd=0.5, is_error=True,
                       timestamp="2026-12-01T12:00:01.500000+00:00")  # fmt: skip
    # child before parent, generation before trace, each in its own request
    for event in (child, span, trace_event):
        post(client, "/batch/", batch(key, event))
    trace = Trace.objects.get(trace_id="t")
    assert trace.name == "agent-run" and trace.has_error and trace.total_cost == Decimal("0.5")
    assert trace.started_at.isoformat() == "2026-12-01T12:00:00+00:00" and trace.latency == 4.0
    assert trace.observations.get(span_id="g").parent_id == "s"
    # a second trace built in the natural order derives the same fields
    for event in (trace_event, span, child):
        event = json.loads(json.dumps(event).replace('"t"', '"t2"'))
        post(client, "/batch/", batch(key, event))
    other = Trace.objects.get(trace_id="t2")
    assert (other.name, other.has_error, other.total_cost, other.started_at, other.latency) == (
        trace.name, trace.has_error, trace.total_cost, trace.started_at, trace.latency,
    )  # fmt: skip


# --- authentication ----------------------------------------------------------------------------


def test_missing_key_is_401_json(client, project):
    response = post(client, "/batch/", {"batch": [generation()]})
    assert response.status_code == 401 and "key" in response.json()["error"]


def test_unknown_key_is_401(client, project):
    assert post(client, "/batch/", batch("trk_nope", generation())).status_code == 401
    assert post(client, "/i/v0/e/", generation(), Authorization="Bearer trk_nope").status_code == 401
    assert not Observation.objects.exists()


def test_revoked_key_is_401(client, project, key):
    IngestionKey.objects.get(project=project).revoke()
    assert post(client, "/batch/", batch(key, generation())).status_code == 401
    assert not Observation.objects.exists()


def test_events_go_to_the_keys_project_only(client, project, other_project, key):
    post(client, "/batch/", batch(key, generation("t")))
    assert Trace.objects.get(trace_id="t").project == project
    assert not Trace.objects.filter(project=other_project).exists()


# --- malformed bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b'"just a string"', "JSON object or list"),
        (b"42", "JSON object or list"),
        (b'{"api_key": "k", "batch": {"event": "x"}}', "'batch' must be a list"),
        (b'{"api_key": "k", "hello": 1}', "expected an event object"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_malformed_body_is_400_saying_what_is_wrong(client, project, key, body, message):
    response = post(client, "/batch/", body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_get_is_refused_without_a_500(client):
    assert client.get("/batch/").status_code == 405


def test_single_event_without_trace_id_is_400(client, project, key):
    event = generation()
    del event["properties"]["$ai_trace_id"]
    response = post(client, "/capture/", {**event, "api_key": key})
    assert response.status_code == 400 and "$ai_trace_id is missing" in response.json()["error"]
    assert not Trace.objects.exists()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e["properties"].pop("$ai_trace_id"), "$ai_trace_id is missing"),
        (lambda e: e["properties"].update({"$ai_trace_id": {"id": 1}}), "$ai_trace_id must be a string"),
        (lambda e: e["properties"].update({"$ai_trace_id": "x" * 256}), "longer than 255"),
        (lambda e: e["properties"].update({"$ai_span_id": "y" * 300}), "$ai_span_id is longer than 255"),
        (
            lambda e: e["properties"].update({"$ai_input_tokens": "lots"}),
            "$ai_input_tokens must be a whole number",
        ),
        (
            lambda e: e["properties"].update({"$ai_total_cost_usd": "free"}),
            "$ai_total_cost_usd must be a number",
        ),
        (lambda e: e["properties"].update({"$ai_latency": -3}), "$ai_latency must not be negative"),
        (lambda e: e["properties"].update({"$ai_http_status": 99999}), "HTTP status"),
        (lambda e: e["properties"].update({"$ai_trace_id": "a\x00b"}), "control characters"),
        (lambda e: e.update({"properties": ["not", "an", "object"]}), "'properties' must be an object"),
        (lambda e: e.update({"timestamp": "yesterday"}), "timestamp must be an ISO 8601 time"),
        (lambda e: e.update({"timestamp": "9999-12-31T23:59:59Z"}), "timestamp is out of range"),
        (lambda e: e.update({"event": 7}), "event name"),
        (lambda e: e["properties"].update({"$ai_input": json.loads("[" * 150 + "]" * 150)}), "nested deeper"),
    ],
)
def test_bad_events_are_rejected_by_index_and_the_rest_stored(client, project, key, change, reason):
    bad = generation("bad-trace")
    change(bad)
    response = post(client, "/batch/", batch(key, generation("good"), bad, "not an event"))
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert body["rejected"][0]["index"] == 1 and reason in body["rejected"][0]["reason"], body
    assert body["rejected"][1] == {"index": 2, "reason": "an event must be a JSON object, not a string"}
    assert list(Trace.objects.values_list("trace_id", flat=True)) == ["good"]


def test_nul_characters_and_lone_surrogates_are_stored_cleaned(client, project, key):
    body = json.dumps(
        batch(key, generation("t", input="a\u0000b", output_choices=["\ud800 x"], span_name="n\u0000"))
    )
    assert post(client, "/batch/", body).json()["accepted"] == 1
    obs = Observation.objects.get(trace__trace_id="t")
    assert "\x00" not in obs.input and "\x00" not in obs.name


# --- size limits and compression -------------------------------------------------------------


def test_gzip_body_is_accepted_by_header_and_by_magic_bytes(client, project, key):
    data = gzip.compress(json.dumps(batch(key, generation("a"))).encode())
    assert post(client, "/batch/", data, **{"Content-Encoding": "gzip"}).json()["accepted"] == 1
    data = gzip.compress(json.dumps(batch(key, generation("b"))).encode())
    assert post(client, "/batch/", data).json()["accepted"] == 1
    data = zlib.compress(json.dumps(batch(key, generation("c"))).encode())
    assert post(client, "/batch/", data, **{"Content-Encoding": "deflate"}).json()["accepted"] == 1
    assert Trace.objects.count() == 3


def test_oversized_body_is_413(client, project, key):
    event = generation("t", input="x" * (2 * 1024 * 1024))
    response = post(client, "/capture/", {**event, "api_key": key})
    assert response.status_code == 413 and "limit" in response.json()["error"]
    assert not Trace.objects.exists()


def test_oversized_batch_is_413(client, project, key):
    body = json.dumps(batch(key, generation("t", input="x" * (21 * 1024 * 1024))))
    assert post(client, "/batch/", body).status_code == 413


def test_gzip_bomb_is_413(client, project, key):
    # 30 MB of spaces compress to ~30 KB; decompressed they exceed 5 x the 2 MB event limit.
    bomb = gzip.compress(
        b'{"api_key": "' + key.encode() + b'", "event": "$ai_generation"' + b" " * (30 * 1024 * 1024)
    )
    assert len(bomb) < 100_000
    response = post(client, "/capture/", bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413 and "decompressed" in response.json()["error"]


def test_truncated_gzip_is_400(client, project, key):
    data = gzip.compress(json.dumps(batch(key, generation())).encode())
    response = post(client, "/batch/", data[: len(data) // 2], **{"Content-Encoding": "gzip"})
    assert response.status_code == 400 and "truncated" in response.json()["error"]
    response = post(client, "/batch/", b"\x1f\x8bnot gzip at all", **{"Content-Encoding": "gzip"})
    assert response.status_code == 400


# --- volume ----------------------------------------------------------------------------------


def test_a_1000_event_batch_costs_a_bounded_number_of_queries(
    client, project, key, django_assert_max_num_queries
):
    events = [generation(f"t-{i % 100}", span_id=f"g-{i}") for i in range(1000)]
    with django_assert_max_num_queries(20):
        response = post(client, "/batch/", batch(key, *events))
    assert response.json()["accepted"] == 1000
    assert Observation.objects.count() == 1000 and Trace.objects.count() == 100


def test_10000_event_batch_with_bad_events_stores_the_good_ones(
    client, project, key, django_assert_max_num_queries
):
    events = [generation(f"t-{i % 500}", span_id=f"g-{i}") for i in range(10_000)]
    bad_indexes = {7, 4242, 9999}
    for i in bad_indexes:
        events[i]["properties"]["$ai_input_tokens"] = "many"
    with django_assert_max_num_queries(60):
        response = post(client, "/batch/", batch(key, *events))
    body = response.json()
    assert body["accepted"] == 10_000 - len(bad_indexes)
    assert {r["index"] for r in body["rejected"]} == bad_indexes
    assert Observation.objects.count() == 10_000 - len(bad_indexes)
    assert not Observation.objects.filter(span_id__in=[f"g-{i}" for i in bad_indexes]).exists()


def test_form_encoded_data_field_is_read(client, project, key):
    import base64
    from urllib.parse import urlencode

    payload = json.dumps(batch(key, generation("form-b64")))
    body = urlencode({"data": base64.b64encode(payload.encode()).decode()})
    response = client.post("/batch/", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.json()["accepted"] == 1
    body = urlencode({"data": json.dumps(batch(key, generation("form-json")))})
    response = client.post("/batch/", data=body, content_type="application/x-www-form-urlencoded")
    assert response.json()["accepted"] == 1
    response = client.post("/batch/", data="data=%%%", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


def test_using_a_key_records_when_it_was_last_used(client, project, key):
    assert IngestionKey.objects.get(project=project).last_used_at is None
    post(client, "/batch/", batch(key, generation()))
    assert IngestionKey.objects.get(project=project).last_used_at is not None


def test_capture_v1_reports_per_event_results(client, project, key):
    good, bad = generation("v1-good"), generation("v1-bad")
    del bad["properties"]["$ai_trace_id"]
    body = {"created_at": "2026-12-01T12:00:00Z", "batch": [good, bad]}
    assert post(client, "/i/v1/analytics/events", body).status_code == 401
    response = post(client, "/i/v1/analytics/events", body, Authorization=f"Bearer {key}")
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[good["uuid"]] == {"result": "ok"}
    assert results[bad["uuid"]]["result"] == "drop" and "$ai_trace_id" in results[bad["uuid"]]["details"]
    assert list(Trace.objects.values_list("trace_id", flat=True)) == ["v1-good"]
    assert post(client, "/i/v1/analytics/events", [good], Authorization=f"Bearer {key}").status_code == 400
