"""The span mapper over each GenAI dialect (SPEC §2.1 item 2), one span at a time.

The spans are built the way the instrumentations emit them (attribute names and value types as
in their source), for the dialects that the shared fixtures do not cover.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from projects.models import IngestionKey
from traces.ingest.normalise import RejectedEvent
from traces.ingest.otlp import OtlpError, any_value, decode_id, parse_otlp_json

TRACE = "0af7651916cd43dd8448eb211c80319c"


def value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list):
        return {"arrayValue": {"values": [value(x) for x in v]}}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": [{"key": k, "value": value(x)} for k, x in v.items()]}}
    return {"stringValue": v}


def one(attributes: dict, *, name: str = "span", events=None, status=None, resource=None, **span_fields):
    span = {
        "traceId": TRACE,
        "spanId": "b7ad6b7169203331",
        "name": name,
        "startTimeUnixNano": "1796311289625646565",
        "endTimeUnixNano": "1796311290625646565",
        "attributes": [{"key": k, "value": value(v)} for k, v in attributes.items()],
        **span_fields,
    }
    if events:
        span["events"] = [
            {
                "name": e["name"],
                "timeUnixNano": "1796311289625646565",
                "attributes": [{"key": k, "value": value(v)} for k, v in e.get("attributes", {}).items()],
            }
            for e in events
        ]
    if status:
        span["status"] = status
    doc = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": k, "value": value(v)} for k, v in (resource or {}).items()]
                },
                "scopeSpans": [{"scope": {"name": "test"}, "spans": [span]}],
            }
        ]
    }
    items, rejected = parse_otlp_json(doc)
    assert rejected == []
    [item] = items
    return item


def test_openllmetry_indexed_prompt_and_completion_with_tool_calls():
    item = one(
        {
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.prompt_tokens": 40,
            "gen_ai.usage.completion_tokens": 12,
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "Be brief.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "Weather in Paris?",
            "gen_ai.prompt.2.role": "assistant",
            "gen_ai.prompt.2.tool_calls.0.id": "call_9",
            "gen_ai.prompt.2.tool_calls.0.name": "weather",
            "gen_ai.prompt.2.tool_calls.0.arguments": '{"city": "Paris"}',
            "gen_ai.prompt.3.role": "tool",
            "gen_ai.prompt.3.content": "18C, sunny",
            "gen_ai.prompt.3.tool_call_id": "call_9",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "Sunny, 18C.",
            "gen_ai.completion.0.finish_reason": "stop",
            "llm.request.functions.0.name": "weather",
            "llm.request.functions.0.parameters": '{"type": "object"}',
        },
        name="openai.chat",
    )

    assert item.kind == "generation"
    assert item.model == "gpt-4o" and item.provider == "openai"
    assert (item.input_tokens, item.output_tokens) == (40, 12)
    assert item.input == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "content": "18C, sunny", "tool_call_id": "call_9"},
    ]
    assert item.output == [{"role": "assistant", "content": "Sunny, 18C.", "finish_reason": "stop"}]
    assert item.stop_reason == "stop"
    assert item.tools == [
        {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}
    ]
    assert not any(k.startswith("gen_ai.prompt.") for k in item.metadata["attributes"])


def test_gen_ai_tool_call_and_tool_result_parts():
    item = one(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "claude-sonnet-4",
            "gen_ai.input.messages": json.dumps(
                [
                    {"role": "user", "parts": [{"type": "text", "content": "Add 2 and 3"}]},
                    {
                        "role": "assistant",
                        "parts": [
                            {"type": "tool_call", "id": "t1", "name": "add", "arguments": {"a": 2, "b": 3}}
                        ],
                    },
                    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "t1", "response": 5}]},
                ]
            ),
            "gen_ai.output.messages": json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "5"}], "finish_reason": "stop"}]
            ),
        }
    )

    assert item.input == [
        {"role": "user", "content": "Add 2 and 3"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "5"},
    ]


def test_span_events_carry_the_prompt_and_completion():
    item = one(
        {"llm.request.type": "chat", "gen_ai.request.model": "gpt-4o-mini"},
        events=[
            {
                "name": "gen_ai.content.prompt",
                "attributes": {"gen_ai.prompt": json.dumps([{"role": "user", "content": "Hi"}])},
            },
            {
                "name": "gen_ai.content.completion",
                "attributes": {"gen_ai.completion": json.dumps([{"role": "assistant", "content": "Hello!"}])},
            },
        ],
    )

    assert item.kind == "generation"
    assert item.input == [{"role": "user", "content": "Hi"}]
    assert item.output == [{"role": "assistant", "content": "Hello!"}]


def test_log_style_message_events_on_the_span():
    item = one(
        {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"},
        events=[
            {"name": "gen_ai.system.message", "attributes": {"content": "Be kind."}},
            {"name": "gen_ai.user.message", "attributes": {"content": "Hi"}},
            {
                "name": "gen_ai.choice",
                "attributes": {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "Hello!"},
                },
            },
        ],
    )

    assert item.input == [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}]
    assert item.output == [{"role": "assistant", "content": "Hello!", "finish_reason": "stop"}]
    assert item.stop_reason == "stop"


def test_openinference_tool_calls_images_and_non_llm_kinds():
    llm = one(
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o",
            "llm.provider": "openai",
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.contents.0.message_content.type": "text",
            "llm.input_messages.0.message.contents.0.message_content.text": "What is this?",
            "llm.input_messages.0.message.contents.1.message_content.type": "image",
            "llm.input_messages.0.message.contents.1.message_content.image.image.url": "https://example.com/cat.png",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.id": "c1",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "describe",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{}",
            "llm.token_count.prompt": 100,
            "llm.token_count.completion": 5,
            "llm.cost.total": 0.0021,
            "llm.tools.0.tool.json_schema": json.dumps(
                {"type": "function", "function": {"name": "describe"}}
            ),
        }
    )
    assert llm.kind == "generation"
    assert llm.input == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            ],
        }
    ]
    assert llm.output[0]["tool_calls"][0]["function"] == {"name": "describe", "arguments": "{}"}
    assert llm.total_cost == Decimal("0.0021")
    assert llm.tools == [{"type": "function", "function": {"name": "describe"}}]

    for kind in ("CHAIN", "TOOL", "AGENT", "RETRIEVER"):
        span = one(
            {"openinference.span.kind": kind, "input.value": "question", "output.value": '{"answer": 42}'}
        )
        assert (span.kind, span.type_label) == ("span", kind)
        assert span.input == "question" and span.output == {"answer": 42}
    embedding = one(
        {"openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small"}
    )
    assert embedding.kind == "embedding"


@pytest.mark.parametrize(
    ("attributes", "kind", "label"),
    [
        ({"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "e5"}, "embedding", ""),
        ({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}, "span", "TOOL"),
        ({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}, "span", "AGENT"),
        ({"traceloop.span.kind": "workflow"}, "span", "WORKFLOW"),
        ({"langfuse.observation.type": "agent"}, "span", "AGENT"),
        ({"langfuse.observation.type": "retriever"}, "span", "RETRIEVER"),
        ({"langfuse.observation.type": "chain"}, "span", "CHAIN"),
        (
            {"langfuse.observation.type": "embedding", "langfuse.observation.model.name": "e5"},
            "embedding",
            "",
        ),
        ({"http.method": "GET"}, "span", ""),
    ],
)
def test_span_kinds(attributes, kind, label):
    item = one(attributes)
    assert (item.kind, item.type_label) == (kind, label)


def test_langfuse_cost_usage_level_and_trace_attributes():
    item = one(
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.model.name": "gpt-4o",
            "langfuse.observation.input": json.dumps([{"role": "user", "content": "Hi"}]),
            "langfuse.observation.output": json.dumps({"role": "assistant", "content": "Hello"}),
            "langfuse.observation.usage_details": json.dumps(
                {"input": 10, "output": 3, "input_cached_tokens": 4}
            ),
            "langfuse.observation.cost_details": json.dumps(
                {"input": 0.001, "output": 0.002, "total": 0.003}
            ),
            "langfuse.observation.level": "ERROR",
            "langfuse.observation.status_message": "rate limited",
            "langfuse.observation.metadata.customer": "acme",
            "session.id": "s-1",
            "user.id": "u-1",
        }
    )

    assert item.kind == "generation"
    assert item.input == [{"role": "user", "content": "Hi"}]
    assert item.output == [{"role": "assistant", "content": "Hello"}]
    assert (item.input_tokens, item.output_tokens, item.cache_read_tokens) == (10, 3, 4)
    assert (item.input_cost, item.output_cost, item.total_cost) == (
        Decimal("0.001"),
        Decimal("0.002"),
        Decimal("0.003"),
    )
    assert item.is_error and item.error == "rate limited"
    assert (item.session_id, item.distinct_id) == ("s-1", "u-1")
    assert item.metadata["attributes"]["langfuse.observation.metadata.customer"] == "acme"


@pytest.mark.parametrize("key", ["session.id", "langfuse.session.id", "gen_ai.conversation.id"])
def test_session_id_spellings(key):
    assert one({key: "conv-1"}).session_id == "conv-1"


def test_user_id_from_the_resource():
    assert one({}, resource={"enduser.id": "alice"}).distinct_id == "alice"


def test_vercel_ai_sdk_generation():
    item = one(
        {
            "ai.model.id": "gpt-4o-mini",
            "ai.model.provider": "openai.chat",
            "ai.prompt.messages": json.dumps(
                [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
                ]
            ),
            "ai.response.text": "Hello!",
            "ai.usage.promptTokens": 9,
            "ai.usage.completionTokens": 2,
        },
        name="ai.generateText.doGenerate",
    )
    assert item.kind == "generation"
    assert item.input == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert item.output == [{"role": "assistant", "content": "Hello!"}]
    assert (item.input_tokens, item.output_tokens) == (9, 2)


def test_exception_events_and_error_type_mark_errors():
    item = one(
        {"error.type": "TimeoutError"},
        events=[
            {
                "name": "exception",
                "attributes": {"exception.type": "TimeoutError", "exception.message": "slow"},
            }
        ],
    )
    assert item.is_error
    assert "TimeoutError: slow" in item.error
    assert one({}, status={"code": 1}).is_error is False
    assert one({}, status={"code": 2, "message": "x"}).error == "x"


def test_any_value_types():
    assert any_value({"intValue": "9223372036854775807"}) == 2**63 - 1
    assert any_value({"intValue": 12}) == 12
    assert any_value({"doubleValue": "NaN"}) == "NaN"
    assert any_value({"doubleValue": 1.5}) == 1.5
    assert any_value({"boolValue": True}) is True
    assert any_value({"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}]}}) == ["a", 1]
    assert any_value({"kvlistValue": {"values": [{"key": "k", "value": {"stringValue": "v"}}]}}) == {"k": "v"}
    assert any_value({"bytesValue": "AAE="}) == "AAE="
    assert any_value({}) is None


def test_ids_hex_base64_and_invalid():
    assert decode_id("5B8EFFF798038103D269B633813FC60C", 16, "traceId") == "5b8efff798038103d269b633813fc60c"
    assert decode_id("W47/95gDgQPSabYzgT/GDA==", 16, "traceId") == "5b8efff798038103d269b633813fc60c"
    assert decode_id("0000000000000000", 8, "spanId") == ""
    with pytest.raises(RejectedEvent):
        decode_id("abc", 8, "spanId")
    with pytest.raises(RejectedEvent):
        decode_id(12, 8, "spanId")


def test_malformed_times_reject_only_that_span():
    doc = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {"traceId": TRACE, "spanId": "b7ad6b7169203331", "startTimeUnixNano": "soon"},
                            {"traceId": TRACE, "spanId": "b7ad6b7169203332", "startTimeUnixNano": "-5"},
                            {
                                "traceId": TRACE,
                                "spanId": "b7ad6b7169203333",
                                "startTimeUnixNano": "99999999999999999999999",
                            },
                            "not a span",
                            {"traceId": TRACE, "spanId": "b7ad6b7169203334"},
                        ]
                    }
                ]
            }
        ]
    }
    items, rejected = parse_otlp_json(doc)
    assert [r["index"] for r in rejected] == [0, 1, 2, 3]
    assert [i.span_id for i in items] == ["b7ad6b7169203334"]


@pytest.mark.parametrize(
    "doc", [[], "x", {"resourceSpans": "no"}, {"resourceSpans": [1]}, {"resourceSpans": [{"scopeSpans": {}}]}]
)
def test_not_an_export(doc):
    with pytest.raises(OtlpError):
        parse_otlp_json(doc)


def test_empty_export_is_fine():
    assert parse_otlp_json({}) == ([], [])
    assert parse_otlp_json({"resourceSpans": []}) == ([], [])


@pytest.mark.django_db
def test_create_ingestion_key_langfuse_prints_the_pair_with_the_key_last(project, capsys):
    call_command("create_ingestion_key", project.slug, "--langfuse")

    public_key, secret = capsys.readouterr().out.strip().splitlines()
    assert public_key.startswith("pk-lf-")
    key = IngestionKey.authenticate_pair(public_key, secret)
    assert key is not None and key.project == project
    assert IngestionKey.authenticate(secret) == key  # the secret is the ordinary ingestion key


@pytest.mark.django_db
def test_create_ingestion_key_without_the_flag_prints_the_key_alone(project, capsys):
    call_command("create_ingestion_key", project.slug)

    [secret] = capsys.readouterr().out.strip().splitlines()
    assert IngestionKey.authenticate(secret).project == project


def test_pydantic_ai_events_attribute():
    item = one(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "events": json.dumps(
                [
                    {"event.name": "gen_ai.system.message", "content": "Be brief.", "role": "system"},
                    {
                        "event.name": "gen_ai.user.message",
                        "content": '{"looks": "like json"}',
                        "role": "user",
                    },
                    {
                        "event.name": "gen_ai.choice",
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "tool_calls": [
                                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                            ],
                        },
                    },
                ]
            ),
        },
        name="chat gpt-4o",
    )

    assert item.input == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": '{"looks": "like json"}'},
    ]
    assert item.output == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        }
    ]
    assert "events" not in item.metadata["attributes"]
