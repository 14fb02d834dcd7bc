"""Golden tests: the OTLP exports real instrumentations sent (../shared/fixtures/otlp/) map to the
observations a reviewer expects: tree, kind, model, tokens and the conversation."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from traces.ingest.normalise import store_observations
from traces.ingest.otlp import parse_otlp_json, parse_otlp_protobuf
from traces.models import Observation, Trace

SYSTEM = {"role": "system", "content": "You are terse."}
USER = {"role": "user", "content": "What is the capital of France?"}
ANSWER = "Paris is the capital of France."


def load(fixtures_dir, name: str) -> dict:
    return json.loads((fixtures_dir / "otlp" / name).read_text())


def by_name(items):
    return {item.name: item for item in items}


def assistant_text(messages) -> str:
    return next(m["content"] for m in messages if m["role"] == "assistant")


def test_official_openai_v2_otlp_json_is_a_generation_under_the_app_span(fixtures_dir):
    items, rejected = parse_otlp_json(load(fixtures_dir, "otlp-json-otel-openai-v2.json"))

    assert rejected == []
    spans = by_name(items)
    chat, root = spans["chat gpt-4o-mini"], spans["agent-run"]
    assert chat.trace_id == root.trace_id == "57932bafc1688522485c5a39012322b5"
    assert (chat.span_id, chat.parent_id) == ("0e7f7034c768a4d6", "6dccd65534ed91f9")
    assert root.span_id == "6dccd65534ed91f9" and root.parent_id == ""
    assert (chat.kind, root.kind) == ("generation", "span")
    assert chat.model == "gpt-4o-mini-2024-07-18"
    assert chat.provider == "openai"
    assert (chat.input_tokens, chat.output_tokens) == (21, 8)
    assert chat.input == [SYSTEM, USER]
    assert chat.output == [{"role": "assistant", "content": ANSWER, "finish_reason": "stop"}]
    assert chat.stop_reason == "stop"
    assert chat.latency == pytest.approx(0.025063, abs=1e-6)
    # What has no column is kept: the requested model, the response id, resource and scope.
    assert chat.metadata["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat.metadata["attributes"]["gen_ai.response.id"] == "chatcmpl-fake123"
    assert chat.metadata["resource"]["service.name"] == "trace-review-test"
    assert chat.metadata["scope"]["name"] == "opentelemetry.util.genai.handler"


def test_openllmetry_gen_ai_messages(fixtures_dir):
    items, rejected = parse_otlp_json(load(fixtures_dir, "proto3json-openllmetry-0.62.4.json"))

    assert rejected == []
    [chat] = items
    # Base64 ids from the protobuf JSON mapping come out as the same hex ids as OTLP/JSON.
    assert chat.trace_id == "ef393c69e7777e3376497258e7639e33" and chat.span_id == "722667d28c0d284c"
    assert chat.kind == "generation" and chat.name == "openai.chat"
    assert chat.model == "gpt-4o-mini-2024-07-18"
    assert (chat.input_tokens, chat.output_tokens, chat.cache_read_tokens, chat.reasoning_tokens) == (
        21,
        8,
        0,
        0,
    )
    assert chat.input == [SYSTEM, USER]
    assert assistant_text(chat.output) == ANSWER
    assert chat.metadata["otel"]["span_kind"] == "CLIENT"


def test_openinference_llm_span(fixtures_dir):
    items, rejected = parse_otlp_json(load(fixtures_dir, "proto3json-openinference-openai.json"))

    assert rejected == []
    [chat] = items
    assert chat.kind == "generation" and chat.type_label == ""
    assert chat.model == "gpt-4o-mini-2024-07-18" and chat.provider == "openai"
    assert (chat.input_tokens, chat.output_tokens) == (21, 8)
    assert chat.input == [SYSTEM, USER]
    assert chat.output == [{"role": "assistant", "content": ANSWER}]
    assert chat.model_parameters == {"model": "gpt-4o-mini"} or chat.model_parameters is None
    assert chat.is_error is False


def test_langfuse_sdk_observations(fixtures_dir):
    items, rejected = parse_otlp_json(load(fixtures_dir, "proto3json-langfuse-sdk-5.2.0.json"))

    assert rejected == []
    spans = by_name(items)
    generation, root = spans["OpenAI-generation"], spans["agent-run"]
    assert generation.parent_id == root.span_id and root.parent_id == ""
    assert (generation.kind, root.kind) == ("generation", "span")
    assert generation.model == "gpt-4o-mini-2024-07-18"
    assert (generation.input_tokens, generation.output_tokens) == (21, 8)
    assert generation.input == [SYSTEM, USER]
    assert generation.output == [{"role": "assistant", "content": ANSWER}]
    assert generation.model_parameters["temperature"] == 1
    assert root.output == "done"


def test_official_openai_v2_error_span(fixtures_dir):
    items, rejected = parse_otlp_json(load(fixtures_dir, "proto3json-otel-openai-v2-error.json"))

    assert rejected == []
    [chat] = items
    assert chat.is_error is True
    assert "does not exist" in chat.error
    assert chat.model == "fail-model"
    assert chat.input == [SYSTEM, USER]
    assert chat.output is None
    assert chat.metadata["attributes"]["error.type"] == "<class 'openai.BadRequestError'>"
    # Its parent (the application's span) was not in this export: kept, so that it links up
    # when the parent arrives in a later export.
    assert chat.parent_id == "0d7b1d4d312fbaa4"


@pytest.mark.parametrize(
    "name",
    [
        "proto3json-langfuse-sdk-5.2.0.json",
        "proto3json-openinference-openai.json",
        "proto3json-openllmetry-0.62.4.json",
        "proto3json-otel-openai-v2-error.json",
    ],
)
def test_binary_protobuf_maps_like_its_json_mapping(fixtures_dir, name):
    doc = load(fixtures_dir, name)
    # The fixtures carry `traceId_hex`/`spanId_hex` beside the base64 ids, for readers.
    body = json_format.ParseDict(
        doc, ExportTraceServiceRequest(), ignore_unknown_fields=True
    ).SerializeToString()

    from_protobuf, rejected = parse_otlp_protobuf(body)
    from_json, _ = parse_otlp_json(doc)

    assert rejected == []
    assert [vars(i) for i in from_protobuf] == [vars(i) for i in from_json]
    spans = [span for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for span in ss["spans"]]
    assert [(i.trace_id, i.span_id) for i in from_protobuf] == [
        (s["traceId_hex"], s["spanId_hex"]) for s in spans
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "trace_name", "observations", "tokens", "has_error"),
    [
        ("otlp-json-otel-openai-v2.json", "agent-run", 2, (21, 8), False),
        ("proto3json-langfuse-sdk-5.2.0.json", "agent-run", 2, (21, 8), False),
        ("proto3json-openinference-openai.json", "ChatCompletion", 1, (21, 8), False),
        ("proto3json-openllmetry-0.62.4.json", "openai.chat", 1, (21, 8), False),
        ("proto3json-otel-openai-v2-error.json", "chat fail-model", 1, (0, 0), True),
    ],
)
def test_stored_trace(fixtures_dir, project, name, trace_name, observations, tokens, has_error):
    items, _ = parse_otlp_json(load(fixtures_dir, name))
    store_observations(project, items)

    trace = Trace.objects.get(project=project)
    assert trace.name == trace_name
    assert trace.observation_count == observations
    assert (trace.input_tokens, trace.output_tokens) == tokens
    assert trace.has_error is has_error
    assert trace.input_preview == "What is the capital of France?"
    if not has_error:
        assert trace.output_preview.startswith("Paris") or trace.output_preview == "done"
        generation = Observation.objects.get(trace=trace, kind="generation")
        assert generation.output[-1]["content"] == ANSWER
