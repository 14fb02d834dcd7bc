"""End to end: real OpenTelemetry clients export to a live Trace Review, offline.

Each test drives a real client library (the OpenTelemetry SDK with the OTLP/HTTP protobuf
exporter, three OpenAI instrumentations, the Langfuse SDK) against pytest-django's live server,
with model calls answered by a fake OpenAI server on 127.0.0.1, and checks what a reviewer would
see: the tree, the model, the token counts and the conversation. Instrumentors patch the `openai`
package globally, so each test uninstruments afterwards, and every test has its own
TracerProvider (never the global one).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from openai import OpenAI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from projects.models import IngestionKey
from tests.projects.factories import MembershipFactory
from tests.traces.fakes import FakeOpenAI
from traces.models import Observation, Trace

pytestmark = pytest.mark.django_db(transaction=True)

SYSTEM_PROMPT = "You are terse."
QUESTION = "What is the capital of France?"
MESSAGES = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": QUESTION}]
ANSWER = "Paris is the capital of France."
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
PROMPT_TOKENS = 21
COMPLETION_TOKENS = 8


@pytest.fixture
def issued(project):
    return IngestionKey.issue(project=project)


@pytest.fixture
def openai_server() -> Iterator:
    with FakeOpenAI(
        reply=ANSWER,
        response_model=RESPONSE_MODEL,
        prompt_tokens=PROMPT_TOKENS,
        completion_tokens=COMPLETION_TOKENS,
    ) as server:
        yield server


@pytest.fixture
def openai_client(openai_server) -> OpenAI:
    return OpenAI(base_url=openai_server.base_url, api_key="sk-test", max_retries=0)


@pytest.fixture
def tracer_provider(live_server, issued) -> Iterator[TracerProvider]:
    """A fresh provider exporting binary protobuf to the live server's /v1/traces."""
    _, raw = issued
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e"}))
    exporter = OTLPSpanExporter(
        endpoint=f"{live_server.url}/v1/traces", headers={"Authorization": f"Bearer {raw}"}
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def hex_ids(span) -> tuple[str, str]:
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def flush(provider: TracerProvider) -> None:
    assert provider.force_flush(timeout_millis=10_000), "the exporter did not finish in time"


def assert_conversation(observation: Observation) -> None:
    """The stored input holds the user's question and the output the assistant's answer, in the
    OpenAI chat shape the trace page renders."""
    assert isinstance(observation.input, list), observation.input
    users = [m for m in observation.input if m.get("role") == "user"]
    assert users and users[-1]["content"] == QUESTION
    assert isinstance(observation.output, list), observation.output
    assistants = [m for m in observation.output if m.get("role") == "assistant"]
    assert assistants and assistants[0]["content"] == ANSWER


def assert_trace_page_shows_conversation(client, project, trace: Trace, generation: Observation) -> None:
    """The trace page, with the generation selected, renders the user's and the assistant's text."""
    member = MembershipFactory(project=project, role="viewer").user
    client.force_login(member)
    response = client.get(trace.get_absolute_url(), {"span": generation.span_id})
    assert response.status_code == 200
    page = response.content.decode()
    assert QUESTION in page
    assert ANSWER in page


def test_sdk_manual_spans_with_gen_ai_attributes(tracer_provider, project, client):
    tracer = tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("agent-run") as root:
        root.set_attribute("session.id", "session-42")
        root.set_attribute("user.id", "user-7")
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as chat:
            chat.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.response.model": RESPONSE_MODEL,
                    "gen_ai.request.temperature": 0.2,
                    "gen_ai.usage.input_tokens": PROMPT_TOKENS,
                    "gen_ai.usage.output_tokens": COMPLETION_TOKENS,
                    "gen_ai.system_instructions": json.dumps([{"type": "text", "content": SYSTEM_PROMPT}]),
                    "gen_ai.input.messages": json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": QUESTION}]}]
                    ),
                    "gen_ai.output.messages": json.dumps(
                        [
                            {
                                "role": "assistant",
                                "parts": [
                                    {"type": "text", "content": ANSWER},
                                    {
                                        "type": "tool_call",
                                        "id": "call_1",
                                        "name": "lookup",
                                        "arguments": {"q": "France"},
                                    },
                                ],
                                "finish_reason": "tool_calls",
                            }
                        ]
                    ),
                }
            )
        with tracer.start_as_current_span("execute_tool lookup") as tool:
            tool.set_attributes(
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "lookup",
                    "gen_ai.tool.call.arguments": '{"q": "France"}',
                    "gen_ai.tool.call.result": '{"capital": "Paris"}',
                }
            )
        with tracer.start_as_current_span("failing step") as failing:
            failing.record_exception(ValueError("no such city"))
            failing.set_status(Status(StatusCode.ERROR, "lookup failed"))
    flush(tracer_provider)

    trace_id, root_id = hex_ids(root)
    trace = Trace.objects.get(project=project, trace_id=trace_id)
    assert trace.name == "agent-run"
    assert trace.observation_count == 4
    assert (trace.input_tokens, trace.output_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert trace.session_id == "session-42" and trace.distinct_id == "user-7"
    assert trace.has_error is True
    assert trace.models_list == [RESPONSE_MODEL]

    observations = {o.name: o for o in trace.observations.all()}
    generation = observations["chat gpt-4o-mini"]
    assert generation.parent_id == root_id
    assert generation.kind == "generation" and generation.model == RESPONSE_MODEL
    assert generation.input == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": QUESTION},
    ]
    [answer] = generation.output
    assert answer["content"] == ANSWER
    assert answer["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "France"}'}}
    ]
    assert generation.stop_reason == "tool_calls"
    assert generation.model_parameters == {"temperature": 0.2}
    assert_conversation(generation)

    tool_span = observations["execute_tool lookup"]
    assert (tool_span.kind, tool_span.type_label) == ("span", "TOOL")
    assert tool_span.input == {"q": "France"} and tool_span.output == {"capital": "Paris"}

    failed = observations["failing step"]
    assert failed.is_error
    assert "lookup failed" in failed.error and "ValueError: no such city" in failed.error
    assert_trace_page_shows_conversation(client, project, trace, generation)


@pytest.fixture
def capture_content(monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    monkeypatch.setenv("TRACELOOP_TRACE_CONTENT", "true")
    monkeypatch.setenv("OPENINFERENCE_HIDE_INPUTS", "false")


def instrumented(instrumentor, tracer_provider):
    instrumentor.instrument(tracer_provider=tracer_provider)
    return instrumentor


def unwrap_openai() -> None:
    """Remove wrappers an instrumentor's `uninstrument()` left on the openai classes.

    OpenLLMetry 0.62 unwraps with dotted names (`"Completions.create"`) that its `unwrap` helper
    does not resolve, so its wrappers stay (bound to the previous test's shut-down provider) and
    would parent the next test's spans to a span that is never exported.
    """
    import wrapt

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if not name.startswith("openai.resources"):
            continue
        for cls in list(vars(module).values()):
            if not isinstance(cls, type) or not cls.__module__.startswith("openai."):
                continue
            for attr, value in list(vars(cls).items()):
                while isinstance(value, wrapt.FunctionWrapper):
                    value = value.__wrapped__
                    setattr(cls, attr, value)


def _instrumentation(instrumentor, tracer_provider):
    instrumented(instrumentor, tracer_provider)
    yield instrumentor
    instrumentor.uninstrument()
    unwrap_openai()


@pytest.fixture
def official_instrumentation(tracer_provider, capture_content):
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    yield from _instrumentation(OpenAIInstrumentor(), tracer_provider)


@pytest.fixture
def openllmetry_instrumentation(tracer_provider, capture_content):
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    yield from _instrumentation(OpenAIInstrumentor(), tracer_provider)


@pytest.fixture
def openinference_instrumentation(tracer_provider, capture_content):
    from openinference.instrumentation.openai import OpenAIInstrumentor

    yield from _instrumentation(OpenAIInstrumentor(), tracer_provider)


def run_agent(tracer_provider, openai_client):
    """An application span around one chat completion, as an instrumented app would have."""
    tracer = tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("agent-run") as root:
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    flush(tracer_provider)
    return hex_ids(root)


def the_generation(project, trace_id: str, root_id: str) -> tuple[Trace, Observation]:
    trace = Trace.objects.get(project=project, trace_id=trace_id)
    assert trace.name == "agent-run"
    assert trace.observation_count == 2
    generation = trace.observations.get(kind="generation")
    assert generation.parent_id == root_id
    assert generation.model == RESPONSE_MODEL
    assert (generation.input_tokens, generation.output_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert (trace.input_tokens, trace.output_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert generation.provider == "openai"
    assert_conversation(generation)
    return trace, generation


def test_official_openai_v2_instrumentation(
    official_instrumentation, tracer_provider, openai_client, project, client
):
    trace_id, root_id = run_agent(tracer_provider, openai_client)

    trace, generation = the_generation(project, trace_id, root_id)
    assert generation.input[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert generation.stop_reason == "stop"
    assert_trace_page_shows_conversation(client, project, trace, generation)


def test_official_openai_v2_instrumentation_error(
    official_instrumentation, tracer_provider, openai_client, project
):
    tracer = tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("agent-run") as root, pytest.raises(Exception, match="does not exist"):
        openai_client.chat.completions.create(model="fail-model", messages=MESSAGES)
    flush(tracer_provider)

    trace_id, _ = hex_ids(root)
    trace = Trace.objects.get(project=project, trace_id=trace_id)
    assert trace.has_error
    failed = trace.observations.get(kind="generation")
    assert failed.is_error and "does not exist" in failed.error
    assert failed.model == "fail-model"


def test_openllmetry_instrumentation(
    openllmetry_instrumentation, tracer_provider, openai_client, project, client
):
    trace_id, root_id = run_agent(tracer_provider, openai_client)

    trace, generation = the_generation(project, trace_id, root_id)
    assert generation.name == "openai.chat"
    assert_trace_page_shows_conversation(client, project, trace, generation)


def test_openinference_instrumentation(
    openinference_instrumentation, tracer_provider, openai_client, project, client
):
    trace_id, root_id = run_agent(tracer_provider, openai_client)

    trace, generation = the_generation(project, trace_id, root_id)
    assert generation.input[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert_trace_page_shows_conversation(client, project, trace, generation)


def test_langfuse_sdk_with_only_its_host_changed(live_server, issued, openai_client, project, client):
    from langfuse import Langfuse, propagate_attributes

    key, raw = issued
    provider = TracerProvider()
    langfuse = Langfuse(
        public_key=key.public_key,
        secret_key=raw,
        host=live_server.url,
        tracer_provider=provider,
        flush_at=1,
    )
    try:
        with langfuse.start_as_current_observation(as_type="span", name="agent-run") as root:
            with propagate_attributes(session_id="session-lf", user_id="user-lf"):
                with langfuse.start_as_current_observation(
                    as_type="generation", name="llm-call", model="gpt-4o-mini", input=MESSAGES
                ) as generation:
                    completion = openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                    generation.update(
                        model=completion.model,
                        output=completion.choices[0].message.model_dump(exclude_none=True),
                        usage_details={"input": PROMPT_TOKENS, "output": COMPLETION_TOKENS},
                        cost_details={"input": 0.0015, "output": 0.0025},
                    )
                with langfuse.start_as_current_observation(
                    as_type="tool", name="lookup", input={"q": "France"}
                ) as tool:
                    tool.update(output={"capital": "Paris"})
            root.update(output="done")
        trace_id = root.trace_id
        root_id = root.id
        langfuse.flush()
    finally:
        langfuse.shutdown()
        # Langfuse leaves a provider it was given running: shutting it down closes the exporter's
        # keep-alive connection, which would otherwise hold the live server's database connection.
        provider.shutdown()

    trace = Trace.objects.get(project=project, trace_id=trace_id)
    assert trace.name == "agent-run"
    assert trace.observation_count == 3
    assert (trace.input_tokens, trace.output_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert str(trace.total_cost).startswith("0.004")
    assert trace.session_id == "session-lf" and trace.distinct_id == "user-lf"
    generation = trace.observations.get(kind="generation")
    assert generation.parent_id == root_id
    assert generation.model == RESPONSE_MODEL
    assert_conversation(generation)
    tool = trace.observations.get(name="lookup")
    assert tool.type_label == "TOOL" and tool.output == {"capital": "Paris"}
    assert_trace_page_shows_conversation(client, project, trace, generation)
