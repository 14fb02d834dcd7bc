"""Message shapes -> render model (traces.conversation), one test per shape."""

from __future__ import annotations

import json

import pytest

from traces.conversation import parse_conversation, render_field


def summary(messages) -> list[tuple]:
    """(role, [(kind, text or name)]) per message, compact enough to compare whole."""
    out = []
    for m in messages:
        parts = []
        for p in m.parts:
            if p.kind == "tool_call":
                parts.append(
                    ("tool_call", p.name, json.loads(p.arguments) if p.arguments[:1] in "{[" else p.arguments)
                )
            elif p.kind == "tool_result":
                parts.append(("tool_result", p.call_id, [(i.kind, i.text) for i in p.parts]))
            elif p.kind in ("image", "file"):
                parts.append((p.kind, p.url or p.detail))
            else:
                parts.append((p.kind, p.text))
        out.append((m.role, parts))
    return out


def test_plain_string_takes_the_default_role():
    assert summary(parse_conversation("Hello", "assistant")) == [("assistant", [("text", "Hello")])]


def test_openai_chat_with_string_and_parts_content_and_tool_calls():
    messages = [
        {"role": "system", "content": "You are terse."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
        {"role": "assistant", "content": "It is sunny."},
    ]
    assert summary(parse_conversation(messages)) == [
        ("system", [("text", "You are terse.")]),
        ("user", [("text", "Weather?"), ("image", "https://x.test/a.png")]),
        ("assistant", [("tool_call", "weather", {"city": "Paris"})]),
        ("tool", [("tool_result", "call_1", [("text", "Sunny")])]),
        ("assistant", [("text", "It is sunny.")]),
    ]


def test_openai_responses_items():
    items = [
        {"role": "user", "content": "What's the weather in Tokyo?"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Tokyo"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "Sunny."},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "It is sunny.", "annotations": []}],
        },
    ]
    assert summary(parse_conversation(items)) == [
        ("user", [("text", "What's the weather in Tokyo?")]),
        ("assistant", [("tool_call", "get_weather", {"city": "Tokyo"})]),
        ("tool", [("tool_result", "c1", [("text", "Sunny.")])]),
        ("assistant", [("text", "It is sunny.")]),
    ]


def test_openai_responses_response_object_with_instructions():
    response = {
        "id": "resp_1",
        "object": "response",
        "instructions": "You are a helpful agent.",
        "output": [
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi"}]}
        ],
        "usage": {"input_tokens": 3},
        "temperature": 1.0,
    }
    # The instructions belong to the request; the response's conversation is its output.
    assert summary(parse_conversation(response)) == [("assistant", [("text", "Hi")])]
    request = {"model": "gpt-4.1", "instructions": "Be brief.", "input": [{"role": "user", "content": "Hi"}]}
    assert summary(parse_conversation(request)) == [
        ("system", [("text", "Be brief.")]),
        ("user", [("text", "Hi")]),
    ]


def test_anthropic_content_blocks():
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo" * 200},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Let me check."},
                {"type": "tool_use", "id": "tu_1", "name": "lookup", "input": {"q": "cat"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "tu_1",
                    "content": [{"type": "text", "text": "a cat"}],
                    "is_error": True,
                }
            ],
        },
    ]
    result = parse_conversation(messages)
    assert summary(result)[1:] == [
        ("assistant", [("reasoning", "Let me check."), ("tool_call", "lookup", {"q": "cat"})]),
        ("user", [("tool_result", "tu_1", [("text", "a cat")])]),
    ]
    image = result[0].parts[1]
    assert (
        image.kind == "image"
        and image.url == ""
        and "image/png" in image.detail
        and "not shown" in image.detail
    )
    assert result[2].parts[0].is_error


def test_anthropic_request_body_with_system():
    body = {
        "model": "claude",
        "system": "Be kind.",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 10,
    }
    assert summary(parse_conversation(body)) == [
        ("system", [("text", "Be kind.")]),
        ("user", [("text", "Hi")]),
    ]


def test_posthog_output_choices_shapes():
    # The posthog SDK's OpenAI wrapper: role + list of {"type": "text"} parts.
    wrapper = [
        {"role": "assistant", "content": [{"type": "text", "text": "Paris is the capital of France."}]}
    ]
    assert summary(parse_conversation(wrapper, "assistant")) == [
        ("assistant", [("text", "Paris is the capital of France.")])
    ]
    # Choice objects as OpenAI returns them.
    choices = [{"index": 0, "message": {"role": "assistant", "content": "Paris"}, "finish_reason": "stop"}]
    assert summary(parse_conversation(choices, "assistant")) == [("assistant", [("text", "Paris")])]
    # Bare content blocks.
    blocks = [{"type": "text", "text": "Paris"}]
    assert summary(parse_conversation(blocks, "assistant")) == [("assistant", [("text", "Paris")])]
    # An OpenAI completion response.
    completion = {"id": "x", "object": "chat.completion", "choices": choices}
    assert summary(parse_conversation(completion, "assistant")) == [("assistant", [("text", "Paris")])]


def test_posthog_input_from_the_sdk_fixture(fixtures_dir):
    body = json.loads((fixtures_dir / "posthog" / "sdk-batch-generation-openai-wrapper.json").read_text())
    props = body["batch"][0]["properties"]
    assert summary(parse_conversation(props["$ai_input"], "user")) == [
        ("system", [("text", "You are terse.")]),
        ("user", [("text", "What is the capital of France?")]),
    ]
    assert summary(parse_conversation(props["$ai_output_choices"], "assistant")) == [
        ("assistant", [("text", "Paris is the capital of France.")])
    ]


def test_langchain_messages_wrapper():
    state = {
        "messages": [
            {"content": "Search for 'example'", "type": "human", "additional_kwargs": {}},
            {
                "content": "",
                "type": "ai",
                "additional_kwargs": {
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "Web-Search", "arguments": '{"query":"example"}'},
                        }
                    ]
                },
            },
            {
                "content": '[{"url": "https://example.com"}]',
                "type": "tool",
                "tool_call_id": "c1",
                "name": "Web-Search",
            },
        ]
    }
    assert summary(parse_conversation(state)) == [
        ("user", [("text", "Search for 'example'")]),
        ("assistant", [("tool_call", "Web-Search", {"query": "example"})]),
        ("tool", [("tool_result", "c1", [("json", '[\n  {\n    "url": "https://example.com"\n  }\n]')])]),
    ]


def test_langfuse_messages_as_a_json_string():
    text = json.dumps({"messages": [{"role": "user", "content": "Hi"}]})
    assert summary(parse_conversation(text)) == [("user", [("text", "Hi")])]


def test_opentelemetry_genai_parts():
    messages = [
        {"role": "user", "parts": [{"type": "text", "content": "Tell a joke"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "c1", "name": "get_pun", "arguments": {"topic": "code"}}],
        },
        {"role": "user", "parts": [{"type": "tool_call_response", "id": "c1", "response": "Pun idea"}]},
    ]
    assert summary(parse_conversation(messages)) == [
        ("user", [("text", "Tell a joke")]),
        ("assistant", [("tool_call", "get_pun", {"topic": "code"})]),
        ("user", [("tool_result", "c1", [("text", "Pun idea")])]),
    ]


def test_gemini_request_and_response():
    assert summary(parse_conversation({"model": "gemini", "contents": "What is Langfuse?"})) == [
        ("user", [("text", "What is Langfuse?")])
    ]
    response = {"candidates": [{"content": {"role": "model", "parts": [{"text": "An observability tool."}]}}]}
    assert summary(parse_conversation(response)) == [("assistant", [("text", "An observability tool.")])]


def test_vercel_ai_sdk_prompt_and_tool_calls():
    assert summary(parse_conversation({"prompt": "Weather in SF?"})) == [
        ("user", [("text", "Weather in SF?")])
    ]
    calls = [{"toolCallId": "c1", "toolName": "getWeather", "input": '{"location":"SF"}'}]
    assert summary(parse_conversation(calls)) == [
        ("assistant", [("tool_call", "getWeather", {"location": "SF"})])
    ]


@pytest.mark.parametrize(
    "value",
    [
        {"docs": [1, 2], "score": 0.5},
        [1, 2, 3],
        [{"doc": "kb/1"}, {"doc": "kb/2"}],
        {"input": "hello", "config": {"k": 1}},  # state with an "input" key: not a request body
        42,
    ],
)
def test_unknown_shapes_render_as_raw_json(value):
    rendered = render_field(value)
    assert rendered.messages is None
    assert rendered.raw == json.dumps(value, indent=2, ensure_ascii=False)


def test_raw_json_is_always_available_for_known_shapes():
    rendered = render_field([{"role": "user", "content": "<b>hi</b>"}])
    assert rendered.messages and '"<b>hi</b>"' in rendered.raw  # escaping is the template's job


def test_truncated_field_is_marked_with_its_original_size():
    rendered = render_field({"$truncated": True, "original_bytes": 2_000_000, "text": '[{"role": "us'})
    assert rendered.truncated and rendered.original_bytes == 2_000_000
    assert rendered.messages is None and rendered.raw.startswith("[{")


def test_empty_values():
    for value in (None, "", [], {}):
        assert render_field(value).empty


def test_only_http_links_for_attachments():
    parts = parse_conversation(
        [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "javascript:alert(1)"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "input_file", "file_url": "https://x.test/report.pdf", "filename": "report.pdf"},
                ],
            }
        ]
    )[0].parts
    assert [p.url for p in parts] == ["", "", "https://x.test/report.pdf"]
    assert "image/png" in parts[1].detail
    assert parts[2].kind == "file" and parts[2].name == "report.pdf"


def test_deeply_nested_junk_does_not_crash():
    value: list = []
    for _ in range(200):
        value = [value]
    assert render_field(value).raw  # shown raw or empty, never an exception


@pytest.mark.parametrize(
    "name",
    ["crewai", "langgraph-python", "openai-agents", "pydantic-ai-tools", "vercel-aisdk", "google-gemini"],
)
def test_every_generation_in_the_langfuse_fixtures_renders_as_a_conversation(fixtures_dir, name):
    path = next((fixtures_dir / "langfuse").glob(f"{name}-*.trace.json"))
    data = json.loads(path.read_text())
    generations = [o for o in data["observations"] if o["type"] == "GENERATION"]
    assert generations
    for o in generations:
        assert render_field(o["input"], "user").messages, (name, o["name"], "input")
        if o.get("output"):
            assert render_field(o["output"], "assistant").messages, (name, o["name"], "output")


def test_long_system_prompts_start_folded_short_ones_do_not():
    short, long = parse_conversation(
        [{"role": "system", "content": "Be brief."}, {"role": "system", "content": "Rule. " * 200}]
    )
    assert not short.collapsed
    assert long.collapsed and long.excerpt.startswith("Rule. Rule.") and long.excerpt.endswith("…")
