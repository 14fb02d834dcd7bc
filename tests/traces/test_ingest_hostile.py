"""Regressions from the adversarial test run (breaker findings 1-4, 9, 12, 14): hostile input to the
ingestion endpoints and the importer never gives a 5xx, never drops the valid events next to a bad
one, and never stores an event in another project. Most of these only failed on PostgreSQL
(DataError), so run this module there too."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.traces.factories import generation, issue_key
from traces.models import Observation, Trace

pytestmark = pytest.mark.django_db

TRACE_ID = "5b8efff798038103d269b633813fc60c"
START = 1_796_311_289_625_646_565


@pytest.fixture
def key(project):
    return issue_key(project)


def post(client, path, text: str, **headers):
    return client.post(
        path, data=text.encode("utf-8", "surrogatepass"), content_type="application/json", headers=headers
    )


def good(trace_id="good"):
    return json.dumps({"event": "$ai_generation", "properties": {"$ai_trace_id": trace_id}})


def stored(project) -> set[str]:
    return set(Trace.objects.filter(project=project).values_list("trace_id", flat=True))


# --- finding 1: no key needed for a 500 ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/batch/", "/capture/", "/i/v0/e/", "/i/v0/ai/batch/"])
def test_integer_over_the_digit_limit_is_a_400(client, path):
    response = post(client, path, '{"batch":[],"x":' + "1" * 5000 + "}")
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


@pytest.mark.parametrize("raw", ['"\\ud800"', "[1]", "42", '"k\\u0000"'])
def test_a_key_that_is_a_lone_surrogate_or_not_a_string_is_a_401(client, raw):
    response = post(client, "/batch/", '{"api_key":' + raw + ',"batch":[]}')
    assert response.status_code == 401


def test_a_lone_surrogate_bearer_or_basic_key_is_a_401(client):
    import base64

    basic = base64.b64encode("pk-lf-\u00e9x:secret".encode()).decode()
    assert post(client, "/v1/traces", "{}", Authorization=f"Basic {basic}").status_code == 401


# --- finding 2: one bad value must not drop the valid events of a batch --------------------------


@pytest.mark.parametrize(
    "bad",
    [
        '"x":NaN',
        '"x":Infinity',
        '"x":-Infinity',
        '"x":1e400',
        '"$ai_input":[{"role":"user","content":NaN}]',
        '"$ai_model_parameters":{"temperature":Infinity}',
        '"$ai_total_cost_usd":NaN',
        '"$ai_input_tokens":1e400',
    ],
)
def test_non_finite_numbers_reject_only_their_event(client, project, key, bad):
    text = (
        '{"api_key":"' + key + '","batch":[' + good() + ","
        '{"event":"$ai_generation","properties":{"$ai_trace_id":"bad",' + bad + "}}]}"
    )
    response = post(client, "/batch/", text)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 1
    assert [r["index"] for r in body["rejected"]] == [1]
    assert stored(project) == {"good"}


def test_a_timestamp_offset_beyond_postgres_range_is_stored_in_utc(client, project, key):
    event = json.loads(good("far-east"))
    event["timestamp"] = "2026-01-01T00:00:00+16:00"
    response = post(client, "/batch/", json.dumps({"api_key": key, "batch": [event]}))
    assert response.status_code == 200, response.content
    obs = Observation.objects.get(trace__trace_id="far-east")
    assert obs.ended_at.isoformat() == "2025-12-31T08:00:00+00:00"


def test_v1_capture_with_nan_keeps_the_good_event(client, project, key):
    text = (
        '{"batch":[' + good() + ',{"event":"$ai_generation","uuid":"u-bad",'
        '"properties":{"$ai_trace_id":"bad","x":NaN}}]}'
    )
    response = post(client, "/i/v1/analytics/events", text, Authorization=f"Bearer {key}")
    assert response.status_code == 200, response.content
    assert response.json()["results"]["u-bad"]["result"] == "drop"
    assert stored(project) == {"good"}


# --- finding 4: ids with lone surrogates, decimal overflow -----------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        '"$ai_trace_id":"\\udfff"',
        '"$ai_trace_id":"t","$ai_span_id":"\\udfff"',
        '"$ai_trace_id":"t","$ai_parent_id":"\\ud800x"',
        '"$ai_trace_id":"t","$ai_total_cost_usd":"1e999999999"',
        '"$ai_trace_id":"t","$ai_input_cost_usd":1e999999999',
    ],
)
def test_surrogate_ids_and_overflowing_costs_reject_their_event(client, project, key, bad):
    text = (
        '{"api_key":"'
        + key
        + '","batch":['
        + good()
        + ',{"event":"$ai_generation","properties":{'
        + bad
        + "}}]}"
    )
    response = post(client, "/batch/", text)
    assert response.status_code == 200, response.content
    assert [r["index"] for r in response.json()["rejected"]] == [1]
    assert stored(project) == {"good"}


def test_a_surrogate_uuid_rejects_the_single_event_with_a_400(client, project, key):
    text = (
        '{"api_key":"' + key + '","event":"$ai_feedback","uuid":"\\udfff","properties":{"$ai_trace_id":"t"}}'
    )
    response = post(client, "/i/v0/e/", text)
    assert response.status_code == 400
    assert "uuid" in response.json()["error"]
    assert stored(project) == set()


def test_surrogates_in_names_and_content_are_cleaned_not_rejected(client, project, key):
    text = (
        '{"api_key":"' + key + '","batch":[{"event":"$ai_span","properties":{"$ai_trace_id":"t",'
        '"$ai_span_name":"a\\udfffb","$ai_model":"m\\u0000","$ai_session_id":"\\ud800",'
        '"\\udfffkey":"v\\ud800"}}]}'
    )
    assert post(client, "/batch/", text).status_code == 200
    obs = Observation.objects.get(trace__trace_id="t")
    assert obs.name == "a\ufffdb" and obs.model == "m\ufffd"


# --- finding 14: negative tokens and costs ----------------------------------------------------------


@pytest.mark.parametrize(
    "prop", ["$ai_input_tokens", "$ai_output_tokens", "$ai_total_cost_usd", "$ai_input_cost_usd"]
)
def test_negative_tokens_and_costs_reject_the_event(client, project, key, prop):
    event = generation("neg", **{prop.removeprefix("$ai_"): -5})
    response = post(client, "/batch/", json.dumps({"api_key": key, "batch": [json.loads(good()), event]}))
    assert response.status_code == 200
    rejected = response.json()["rejected"]
    assert rejected[0]["index"] == 1
    assert prop in rejected[0]["reason"] and "negative" in rejected[0]["reason"]
    assert stored(project) == {"good"}


# --- finding 12: events carrying another project's key ------------------------------------------------


def test_events_with_another_projects_key_are_rejected_not_stored_in_the_first(
    client, project, other_project, key
):
    other = issue_key(other_project)
    events = [
        {**json.loads(good("mine")), "api_key": key},
        {**json.loads(good("theirs")), "api_key": other},
        {**json.loads(good("unknown")), "api_key": "trk_nope"},
        json.loads(good("keyless")),
    ]
    for path, body in (("/capture/", events), ("/batch/", {"batch": events})):
        response = post(client, path, json.dumps(body))
        assert response.status_code == 200, response.content
        reasons = {r["index"]: r["reason"] for r in response.json()["rejected"]}
        assert set(reasons) == {1, 2}
        assert "another project" in reasons[1] and "unknown" in reasons[2]
    assert stored(project) == {"mine", "keyless"}
    assert stored(other_project) == set()


def test_event_key_in_properties_token_is_checked_too(client, project, other_project, key):
    other = issue_key(other_project)
    theirs = json.loads(good("theirs"))
    theirs["properties"]["token"] = other
    response = post(client, "/batch/", json.dumps({"api_key": key, "batch": [json.loads(good()), theirs]}))
    assert [r["index"] for r in response.json()["rejected"]] == [1]
    assert stored(project) == {"good"} and stored(other_project) == set()


# --- finding 3: OTLP ---------------------------------------------------------------------------------


def otlp_span(span_id: str, attributes: str = "", status: str = "") -> str:
    return (
        '{"traceId":"'
        + TRACE_ID
        + '","spanId":"'
        + span_id
        + '","name":"s","startTimeUnixNano":"'
        + str(START)
        + '","endTimeUnixNano":"'
        + str(START + 10**9)
        + '","attributes":['
        + attributes
        + "]"
        + (',"status":' + status if status else "")
        + "}"
    )


def otlp_body(*spans: str) -> str:
    return '{"resourceSpans":[{"scopeSpans":[{"spans":[' + ",".join(spans) + "]}]}]}"


@pytest.mark.parametrize(
    "attributes,status",
    [
        ('{"key":"x","value":{"stringValue":NaN}}', ""),
        ("", '{"code":[1]}'),
        ("", '{"code":{"a":1}}'),
        ('{"key":"gen_ai.usage.cost","value":{"stringValue":"1e999999999"}}', ""),
        ('{"key":"llm.cost.total","value":{"stringValue":"1e999999999"}}', ""),
        ('{"key":"gen_ai.usage.input_tokens","value":{"intValue":"-5"}}', ""),
        ('{"key":"input.value","value":{"stringValue":"' + "[" * 100000 + '"}}', ""),
        ('{"key":"input.value","value":{"stringValue":"' + "[" * 5000 + "]" * 5000 + '"}}', ""),
    ],
)
@pytest.mark.parametrize("path", ["/v1/traces", "/api/public/otel/v1/traces"])
def test_otlp_bad_span_is_rejected_and_the_good_one_stored(client, project, key, attributes, status, path):
    import base64

    from projects.models import IngestionKey

    auth = (
        f"Bearer {key}"
        if path == "/v1/traces"
        else "Basic "
        + base64.b64encode(f"{IngestionKey.objects.get(project=project).public_key}:{key}".encode()).decode()
    )
    text = otlp_body(otlp_span("00000000000000a1"), otlp_span("00000000000000b2", attributes, status))
    response = post(client, path, text, Authorization=auth)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["partialSuccess"]["rejectedSpans"] == "1"
    assert list(Observation.objects.values_list("span_id", flat=True)) == ["00000000000000a1"]


def test_otlp_nan_json_attribute_is_kept_as_text_through_protobuf(client, project, key):
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    doc = json.loads(
        otlp_body(
            otlp_span("00000000000000a1"),
            otlp_span("00000000000000b2", '{"key":"input.value","value":{"stringValue":"{\\"a\\": NaN}"}}'),
        )
    )
    message = json_format.ParseDict(doc, ExportTraceServiceRequest())
    response = client.post(
        "/v1/traces",
        data=message.SerializeToString(),
        content_type="application/x-protobuf",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200
    assert Observation.objects.count() == 2
    assert Observation.objects.get(span_id="00000000000000b2").input == '{"a": NaN}'


@pytest.mark.parametrize(
    "text",
    [
        '{"resourceSpans":' + "[" * 100000 + "]" * 100000 + "}",
        '{"resourceSpans":[],"x":' + "1" * 5000 + "}",
        '{"resourceSpans":[]}\xff',
    ],
)
def test_otlp_undecodable_body_is_a_400(client, key, text):
    response = post(client, "/v1/traces", text, Authorization=f"Bearer {key}")
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


# --- finding 9: import_traces -------------------------------------------------------------------------


def test_import_reports_bad_records_and_imports_the_good_ones(project, tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [
        good("good-1"),
        '{"event":"$ai_generation","properties":{"$ai_trace_id":"\\udfff"}}',
        '{"event":"$ai_generation","properties":{"$ai_trace_id":"bad","x":NaN}}',
        '{"event":"$ai_generation","properties":{"$ai_trace_id":"big","x":' + "1" * 5000 + "}}",
        '{"event":"$ai_generation","properties":{"$ai_trace_id":"neg","$ai_input_tokens":-1}}',
        '{"event":"$ai_generation","timestamp":"2026-01-01T00:00:00+16:00","properties":{"$ai_trace_id":"tz"}}',
        good("good-2"),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, err = StringIO(), StringIO()
    call_command("import_traces", str(path), project=project.slug, stdout=out, stderr=err)
    assert stored(project) == {"good-1", "good-2", "tz"}
    for number in (2, 3, 4, 5):
        assert f"events.jsonl:line {number}" in err.getvalue()
    assert "4 rejected" in out.getvalue()


@pytest.mark.parametrize("where", ["resource", "span"])
@pytest.mark.parametrize("value", ['{"intValue":Infinity}', '{"intValue":1e400}', '{"intValue":NaN}'])
def test_otlp_non_finite_int_values_are_kept_as_text(client, project, key, where, value):
    attribute = '{"key":"n","value":' + value + "}"
    span = otlp_span("00000000000000a1", attribute if where == "span" else "")
    resource = '"resource":{"attributes":[' + attribute + "]}," if where == "resource" else ""
    text = '{"resourceSpans":[{' + resource + '"scopeSpans":[{"spans":[' + span + "]}]}]}"
    response = post(client, "/v1/traces", text, Authorization=f"Bearer {key}")
    assert response.status_code == 200, response.content
    obs = Observation.objects.get()
    attrs = obs.metadata["resource"] if where == "resource" else obs.metadata["attributes"]
    assert attrs["n"] in ("inf", "nan")


def test_import_of_odd_langfuse_shapes_reports_instead_of_crashing(project, tmp_path):
    path = tmp_path / "lf.jsonl"
    lines = [
        good("good-1"),
        '{"id":"lf1","observations":[{"id":{"a":1},"type":"SPAN"}],"scores":5}',
        '{"id":"lf2","sessionId":NaN,"observations":[{"id":"o1"}]}',
        '{"id":"lf3","observations":[{"id":"o1","costDetails":{"total":-1}},{"id":"o2"}]}',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, err = StringIO(), StringIO()
    call_command("import_traces", str(path), project=project.slug, stdout=out, stderr=err)
    assert stored(project) == {"good-1", "lf1", "lf3"}
    assert "line 3 trace: sessionId must not be NaN or Infinity" in err.getvalue()
    assert "line 4 observations[0]: total cost must not be negative" in err.getvalue()
