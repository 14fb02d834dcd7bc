"""`POST /v1/traces` and `POST /api/public/otel/v1/traces`: auth, encodings, partial success and
bad input (4xx or partial success, never a 500, never a partial write of a broken body)."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from projects.models import IngestionKey
from traces.ingest.normalise import MAX_FIELD_BYTES, TRUNCATED_MARKER
from traces.models import Observation, Trace

OTLP = "/v1/traces"
LANGFUSE = "/api/public/otel/v1/traces"
TRACE_ID = "5b8efff798038103d269b633813fc60c"
START = 1_796_311_289_625_646_565


@pytest.fixture
def key(project):
    return IngestionKey.issue(project=project)


def span(
    span_id: str, *, parent: str = "", name: str = "step", trace_id: str = TRACE_ID, attributes=None, **extra
):
    out = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(START),
        "endTimeUnixNano": str(START + 250_000_000),
        "attributes": attributes or [],
        **extra,
    }
    if parent:
        out["parentSpanId"] = parent
    return out


def export(*spans) -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "tests"}}]},
                "scopeSpans": [{"scope": {"name": "manual"}, "spans": list(spans)}],
            }
        ]
    }


def chat_attributes(tokens_in=21, tokens_out=8) -> list[dict]:
    return [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": tokens_in}},
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": tokens_out}},
        {
            "key": "gen_ai.input.messages",
            "value": {
                "stringValue": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}])
            },
        },
    ]


def post_json(client, doc, raw_key, *, path=OTLP, headers=None, **kwargs):
    body = doc if isinstance(doc, (bytes, str)) else json.dumps(doc)
    headers = {"Authorization": f"Bearer {raw_key}"} if headers is None else headers
    return client.post(path, body, content_type="application/json", headers=headers, **kwargs)


def post_protobuf(client, body: bytes, raw_key, *, path=OTLP, headers=None):
    headers = {"Authorization": f"Bearer {raw_key}"} if headers is None else headers
    return client.post(path, body, content_type="application/x-protobuf", headers=headers)


def as_protobuf(doc: dict) -> bytes:
    """OTLP JSON with hex ids as the binary protobuf an exporter sends (bytes fields are base64 in
    the generic JSON mapping, hence the conversion)."""
    converted = json.loads(json.dumps(doc))
    for rs in converted["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                for field in ("traceId", "spanId", "parentSpanId"):
                    if s.get(field):
                        s[field] = base64.b64encode(bytes.fromhex(s[field])).decode()
    return json_format.ParseDict(converted, ExportTraceServiceRequest()).SerializeToString()


# --- success paths ------------------------------------------------------------------------------


def test_json_export_is_stored_and_answered_in_json(client, key, project):
    _, raw = key
    doc = export(
        span("00f067aa0ba902b7", name="agent"),
        span("00f067aa0ba902b8", parent="00f067aa0ba902b7", name="chat", attributes=chat_attributes()),
    )

    response = post_json(client, doc, raw)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {}  # a full success has no partialSuccess
    trace = Trace.objects.get(project=project, trace_id=TRACE_ID)
    assert trace.name == "agent"
    assert (trace.input_tokens, trace.output_tokens) == (21, 8)
    chat = Observation.objects.get(trace=trace, span_id="00f067aa0ba902b8")
    assert chat.parent_id == "00f067aa0ba902b7"
    assert chat.kind == "generation" and chat.model == "gpt-4o-mini"
    assert chat.input == [{"role": "user", "content": "Hi"}]
    assert chat.latency == pytest.approx(0.25)


def test_protobuf_export_is_answered_in_protobuf(client, key, project):
    _, raw = key
    body = as_protobuf(export(span("00f067aa0ba902b7", attributes=chat_attributes())))

    response = post_protobuf(client, body, raw)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-protobuf"
    parsed = ExportTraceServiceResponse.FromString(response.content)
    assert parsed.partial_success.rejected_spans == 0
    assert Observation.objects.get(trace__project=project).input_tokens == 21


@pytest.mark.parametrize("compress", [gzip.compress, zlib.compress], ids=["gzip", "deflate"])
def test_compressed_bodies(client, key, project, compress):
    _, raw = key
    body = compress(as_protobuf(export(span("00f067aa0ba902b7"))))
    encoding = "gzip" if compress is gzip.compress else "deflate"

    response = client.post(
        OTLP,
        body,
        content_type="application/x-protobuf",
        headers={"Authorization": f"Bearer {raw}", "Content-Encoding": encoding},
    )

    assert response.status_code == 200
    assert Trace.objects.filter(project=project, trace_id=TRACE_ID).exists()


def test_key_in_x_api_key_header(client, key, project):
    _, raw = key
    response = post_json(client, export(span("00f067aa0ba902b7")), raw, headers={"x-api-key": raw})
    assert response.status_code == 200
    assert Trace.objects.filter(project=project).count() == 1


def test_langfuse_path_takes_basic_auth_with_the_key_pair(client, key, project):
    ingestion_key, raw = key
    assert ingestion_key.public_key.startswith("pk-lf-")
    basic = base64.b64encode(f"{ingestion_key.public_key}:{raw}".encode()).decode()

    response = post_json(
        client,
        export(span("00f067aa0ba902b7")),
        raw,
        path=LANGFUSE,
        headers={"Authorization": f"Basic {basic}"},
    )

    assert response.status_code == 200
    assert Trace.objects.filter(project=project).count() == 1


def test_langfuse_path_refuses_a_public_key_of_another_key(client, key, project, other_project):
    _, raw = key
    other, _ = IngestionKey.issue(project=other_project)
    basic = base64.b64encode(f"{other.public_key}:{raw}".encode()).decode()

    response = post_json(
        client,
        export(span("00f067aa0ba902b7")),
        raw,
        path=LANGFUSE,
        headers={"Authorization": f"Basic {basic}"},
    )

    assert response.status_code == 401
    assert not Trace.objects.exists()


def test_a_resent_span_replaces_the_stored_copy(client, key, project):
    _, raw = key
    post_json(client, export(span("00f067aa0ba902b7", attributes=chat_attributes(tokens_in=5))), raw)
    post_json(client, export(span("00f067aa0ba902b7", attributes=chat_attributes(tokens_in=7))), raw)

    assert Observation.objects.get(trace__project=project).input_tokens == 7


def test_512_spans_cost_a_bounded_number_of_queries(client, key, project, django_assert_max_num_queries):
    _, raw = key
    spans = [
        span(
            f"{i + 1:016x}",
            parent="0000000000000001" if i else "",
            trace_id=f"{i % 8 + 1:032x}",
            attributes=chat_attributes(),
        )
        for i in range(512)
    ]
    body = as_protobuf(export(*spans))

    with django_assert_max_num_queries(16):
        response = post_protobuf(client, body, raw)

    assert response.status_code == 200
    assert Observation.objects.filter(trace__project=project).count() == 512
    assert Trace.objects.filter(project=project).count() == 8


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer trk_unknown"}, {"x-api-key": "nope"}, {"Authorization": "Basic !!!"}],
    ids=["missing", "unknown-bearer", "unknown-x-api-key", "garbled-basic"],
)
def test_unknown_key_is_401(client, db, headers):
    response = post_json(client, export(span("00f067aa0ba902b7")), None, headers=headers)
    assert response.status_code == 401
    assert "error" in response.json()
    assert not Trace.objects.exists()


def test_revoked_key_is_401(client, key):
    ingestion_key, raw = key
    ingestion_key.revoke()
    assert post_json(client, export(span("00f067aa0ba902b7")), raw).status_code == 401


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_content_type_is_415(client, key, content_type):
    _, raw = key
    response = client.post(OTLP, "{}", content_type=content_type, headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 415
    assert "application/x-protobuf" in response.json()["error"]


def test_truncated_protobuf_is_400_and_stores_nothing(client, key):
    _, raw = key
    body = as_protobuf(export(span("00f067aa0ba902b7", attributes=chat_attributes())))

    response = post_protobuf(client, body[: len(body) - 7], raw)

    assert response.status_code == 400
    assert "protobuf" in response.json()["error"]
    assert not Trace.objects.exists()


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"resourceSpans": {}}', b'"text"'])
def test_malformed_json_is_400(client, key, body):
    _, raw = key
    response = post_json(client, body, raw)
    assert response.status_code == 400
    assert response.json()["error"]


def test_corrupt_gzip_is_400(client, key):
    _, raw = key
    response = client.post(
        OTLP,
        b"\x1f\x8b\x08\x00garbage",
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 400


def test_body_over_the_limit_is_413(client, key):
    _, raw = key
    response = client.post(
        OTLP,
        b"{" + b" " * (20 * 1024 * 1024) + b"}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 413


def test_spans_without_trace_id_are_a_partial_success_in_json(client, key, project):
    _, raw = key
    doc = export(
        span("00f067aa0ba902b7"),
        span("00f067aa0ba902b8", trace_id=""),
        span("00f067aa0ba902b9", trace_id="00000000000000000000000000000000"),
        span("", name="no span id"),
        span("00f067aa0ba902ba", trace_id="not-an-id"),
    )

    response = post_json(client, doc, raw)

    assert response.status_code == 200
    body = response.json()
    assert body["partialSuccess"]["rejectedSpans"] in ("4", 4)
    assert "span 1: traceId is missing" in body["partialSuccess"]["errorMessage"]
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3, 4]
    assert "spanId is missing" in body["rejected"][2]["reason"]
    assert list(Observation.objects.filter(trace__project=project).values_list("span_id", flat=True)) == [
        "00f067aa0ba902b7"
    ]


def test_spans_without_trace_id_are_a_partial_success_in_protobuf(client, key, project):
    _, raw = key
    request = ExportTraceServiceRequest.FromString(
        as_protobuf(export(span("00f067aa0ba902b7"), span("00f067aa0ba902b8")))
    )
    request.resource_spans[0].scope_spans[0].spans[1].trace_id = b""

    response = post_protobuf(client, request.SerializeToString(), raw)

    assert response.status_code == 200
    parsed = ExportTraceServiceResponse.FromString(response.content)
    assert parsed.partial_success.rejected_spans == 1
    assert "traceId is missing" in parsed.partial_success.error_message
    assert Observation.objects.filter(trace__project=project).count() == 1


@pytest.mark.parametrize("as_string", [True, False], ids=["strings", "numbers"])
def test_64_bit_values_as_strings_and_numbers(client, key, project, as_string):
    _, raw = key
    big = 2**63 - 1

    def int64(value):
        return str(value) if as_string else value

    doc = export(
        span(
            "00f067aa0ba902b7",
            startTimeUnixNano=int64(START),
            endTimeUnixNano=int64(START + 1_500_000_000),
            attributes=[
                *chat_attributes(tokens_in=int64(3_000_000_000), tokens_out=int64(12)),
                {"key": "app.big", "value": {"intValue": int64(big)}},
            ],
        )
    )

    response = post_json(client, doc, raw)

    assert response.status_code == 200, response.content
    chat = Observation.objects.get(trace__project=project)
    assert chat.input_tokens == 3_000_000_000 and chat.output_tokens == 12
    assert chat.latency == pytest.approx(1.5)
    assert chat.started_at.year == 2026
    assert chat.metadata["attributes"]["app.big"] == big


def test_enormous_attribute_values_are_stored_truncated(client, key, project):
    _, raw = key
    huge = "x" * (3 * 1024 * 1024)
    doc = export(
        span(
            "00f067aa0ba902b7",
            attributes=[
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "m" * 5000}},
                {
                    "key": "gen_ai.input.messages",
                    "value": {"stringValue": json.dumps([{"role": "user", "content": huge}])},
                },
                {"key": "app.blob", "value": {"stringValue": huge}},
            ],
            name="n" * 5000,
        )
    )

    response = post_json(client, doc, raw)

    assert response.status_code == 200
    chat = Observation.objects.get(trace__project=project)
    assert chat.input[TRUNCATED_MARKER] is True
    assert len(chat.input["text"].encode()) <= MAX_FIELD_BYTES
    assert chat.metadata[TRUNCATED_MARKER] is True
    assert len(chat.name) == 255 and len(chat.model) == 255


def test_a_span_whose_parent_never_arrives_is_a_root(client, key, project):
    _, raw = key
    doc = export(
        span("00f067aa0ba902b7", parent="1111111111111111", name="orphan", attributes=chat_attributes())
    )

    response = post_json(client, doc, raw)

    assert response.status_code == 200
    trace = Trace.objects.get(project=project)
    orphan = trace.observations.get()
    # The parent id is kept (a later export may bring the parent); until then it shows as a root.
    assert orphan.parent_id == "1111111111111111"
    assert trace.observation_count == 1
    assert (trace.input_tokens, trace.output_tokens) == (21, 8)


def test_enum_names_and_base64_ids_are_accepted_in_json(client, key, project):
    _, raw = key
    doc = export(
        span(
            base64.b64encode(bytes.fromhex("00f067aa0ba902b7")).decode(),
            trace_id=base64.b64encode(bytes.fromhex(TRACE_ID)).decode(),
            kind="SPAN_KIND_CLIENT",
            status={"code": "STATUS_CODE_ERROR", "message": "boom"},
        )
    )

    response = post_json(client, doc, raw)

    assert response.status_code == 200
    obs = Observation.objects.get(
        trace__project=project, trace__trace_id=TRACE_ID, span_id="00f067aa0ba902b7"
    )
    assert obs.is_error and obs.error == "boom"
    assert obs.metadata["otel"]["span_kind"] == "CLIENT"


def test_get_is_not_allowed(client, key):
    assert client.get(OTLP).status_code == 405


def test_nul_characters_and_junk_numbers_do_not_break_the_write(client, key, project):
    _, raw = key
    doc = export(
        span(
            "00f067aa0ba902b7",
            name="nul\u0000name",
            attributes=[
                *chat_attributes(tokens_in="many", tokens_out="none"),
                {
                    "key": "gen_ai.output.messages",
                    "value": {"stringValue": json.dumps([{"role": "assistant", "content": "a\u0000b"}])},
                },
                {"key": "weird\u0000key", "value": {"stringValue": "v\u0000"}},
                {"key": "http.response.status_code", "value": {"stringValue": "teapot"}},
                {"key": "ratio", "value": {"doubleValue": "Infinity"}},
            ],
        )
    )

    response = post_json(client, doc, raw)

    assert response.status_code == 200
    chat = Observation.objects.get(trace__project=project)
    assert chat.input_tokens is None and chat.http_status is None
    assert chat.metadata["attributes"]["ratio"] == "Infinity"
    assert "b" in chat.output[0]["content"]
