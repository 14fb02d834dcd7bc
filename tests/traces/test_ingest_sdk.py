"""End to end with the real `posthog` SDK against a live server (and the SDK's OpenAI wrapper
against a fake OpenAI server): what the SDK sends is stored and shown on the trace page."""

from __future__ import annotations

import uuid

import pytest
from posthog import Posthog
from posthog import request as posthog_request
from posthog.ai.openai import OpenAI

from tests.traces.factories import issue_key
from tests.traces.fakes import FakeOpenAI
from traces.models import Observation, Trace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def posthog_client(live_server, project, request):
    """A real SDK client pointed at the live server; fails the test on any send error."""
    errors: list = []
    options = getattr(request, "param", {})
    client = Posthog(
        issue_key(project),
        host=live_server.url,
        sync_mode=True,
        on_error=lambda error, batch: errors.append(error),
        max_retries=0,
        **options,
    )
    yield client
    client.shutdown()
    # Close the SDK's keep-alive connections: the live server's handler thread (and the database
    # connection it holds) ends only when the socket does, and a leftover would block teardown.
    posthog_request.reset_sessions()
    assert not errors, f"the SDK reported send errors: {errors}"


def page(client, user, project, trace_id: str, **params) -> str:
    client.force_login(user)
    response = client.get(f"/p/{project.slug}/traces/{trace_id}/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_manual_trace_span_and_generation_captures(posthog_client, project):
    trace_id = f"trace-{uuid.uuid4()}"
    messages = [
        {"role": "system", "content": "You answer in one word."},
        {"role": "user", "content": "Which planet is known as the red planet?"},
    ]
    posthog_client.capture(
        "$ai_generation",
        distinct_id="user-42",
        properties={
            "$ai_trace_id": trace_id,
            "$ai_span_id": "gen-1",
            "$ai_parent_id": "span-1",
            "$ai_model": "gpt-4o-mini",
            "$ai_provider": "openai",
            "$ai_input": messages,
            "$ai_output_choices": [{"role": "assistant", "content": "Mars."}],
            "$ai_input_tokens": 17,
            "$ai_output_tokens": 2,
            "$ai_total_cost_usd": 0.00042,
            "$ai_latency": 0.8,
        },
    )
    posthog_client.capture(
        "$ai_span",
        distinct_id="user-42",
        properties={
            "$ai_trace_id": trace_id,
            "$ai_span_id": "span-1",
            "$ai_parent_id": trace_id,
            "$ai_span_name": "answer-step",
            "$ai_input_state": {"question": "red planet"},
            "$ai_output_state": {"answer": "Mars"},
            "$ai_latency": 1.0,
        },
    )
    posthog_client.capture(
        "$ai_trace",
        distinct_id="user-42",
        properties={
            "$ai_trace_id": trace_id,
            "$ai_span_name": "astronomy-quiz",
            "$ai_session_id": "session-7",
            "$ai_input_state": messages,
            "$ai_output_state": "Mars.",
            "$ai_latency": 1.2,
        },
    )
    posthog_client.capture(
        "$ai_feedback",
        distinct_id="user-42",
        properties={"$ai_trace_id": trace_id, "$ai_feedback_text": "Correct"},
    )

    trace = Trace.objects.get(project=project, trace_id=trace_id)
    assert trace.name == "astronomy-quiz"
    assert (trace.input_tokens, trace.output_tokens, trace.session_id, trace.distinct_id) == (
        17, 2, "session-7", "user-42",
    )  # fmt: skip
    assert trace.observation_count == 3 and trace.models_list == ["gpt-4o-mini"]
    tree = {o.span_id: o for o in trace.observations.all()}
    assert tree["gen-1"].parent_id == "span-1" and tree["span-1"].parent_id == trace_id
    assert tree["gen-1"].input == messages
    assert tree["gen-1"].metadata["$lib"] == "posthog-python"
    assert trace.observations.filter(kind="event", output="Correct").exists()


def test_openai_wrapper_generation_is_stored(posthog_client, project):
    trace_id = f"trace-{uuid.uuid4()}"
    with FakeOpenAI(reply="Paris is the capital of France.", prompt_tokens=21, completion_tokens=8) as fake:
        openai_client = OpenAI(api_key="sk-test", base_url=fake.base_url, posthog_client=posthog_client)
        completion = openai_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "What is the capital of France?"},
            ],
            posthog_distinct_id="user-1",
            posthog_trace_id=trace_id,
        )
    assert completion.choices[0].message.content == "Paris is the capital of France."

    obs = Observation.objects.get(trace__project=project, trace__trace_id=trace_id)
    assert obs.kind == "generation" and obs.model == "gpt-4o-mini" and obs.provider == "openai"
    assert (obs.input_tokens, obs.output_tokens, obs.http_status, obs.is_error) == (21, 8, 200, False)
    assert obs.input[1] == {"role": "user", "content": "What is the capital of France?"}
    assert "Paris is the capital of France." in str(obs.output)
    assert obs.trace.input_preview == "What is the capital of France?"
    assert obs.trace.output_preview == "Paris is the capital of France."


def test_openai_wrapper_streaming_and_errors(posthog_client, project):
    trace_id = f"trace-{uuid.uuid4()}"
    with FakeOpenAI(reply="Streaming works fine.") as fake:
        openai_client = OpenAI(
            api_key="sk-test", base_url=fake.base_url, posthog_client=posthog_client, max_retries=0
        )
        chunks = openai_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Stream please"}],
            stream=True,
            stream_options={"include_usage": True},
            posthog_trace_id=trace_id,
        )
        assert (
            "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Streaming works fine."
        )
        with pytest.raises(Exception, match="does not exist"):
            openai_client.chat.completions.create(
                model="fail-model", messages=[{"role": "user", "content": "Hi"}], posthog_trace_id=trace_id
            )
    trace = Trace.objects.get(project=project, trace_id=trace_id)
    ok, failed = sorted(trace.observations.all(), key=lambda o: o.is_error)
    assert "Streaming works fine." in str(ok.output) and ok.output_tokens == 8
    assert failed.is_error and failed.http_status == 404 and "does not exist" in failed.error
    assert trace.has_error and trace.models_list == ["fail-model", "gpt-4o-mini"]


@pytest.mark.parametrize(
    "posthog_client", [{"enable_full_ai_capture": True, "gzip": True}], indirect=True, ids=["ai-lane-gzip"]
)
def test_ai_lane_with_gzip(posthog_client, project):
    trace_id = f"trace-{uuid.uuid4()}"
    with FakeOpenAI(reply="Lane two.") as fake:
        openai_client = OpenAI(api_key="sk-test", base_url=fake.base_url, posthog_client=posthog_client)
        openai_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Which lane?"}],
            posthog_trace_id=trace_id,
        )
        openai_client.embeddings.create(
            model="text-embedding-3-small", input="Which lane?", posthog_trace_id=trace_id
        )
    kinds = sorted(Observation.objects.filter(trace__trace_id=trace_id).values_list("kind", flat=True))
    assert kinds == ["embedding", "generation"]


def test_trace_page_shows_the_conversation_sent_by_the_sdk(posthog_client, project, client, reviewer):
    trace_id = f"trace-{uuid.uuid4()}"
    with FakeOpenAI(reply="Paris is the capital of France.") as fake:
        openai_client = OpenAI(api_key="sk-test", base_url=fake.base_url, posthog_client=posthog_client)
        openai_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "What is the capital of France?"}],
            posthog_trace_id=trace_id,
        )
    span = Observation.objects.get(trace__trace_id=trace_id)
    # The generation's detail is rendered server-side when it is selected (SPEC §9: ?span=).
    html = page(client, reviewer, project, trace_id) + page(
        client, reviewer, project, trace_id, span=span.span_id
    )
    assert "What is the capital of France?" in html
    assert "Paris is the capital of France." in html


@pytest.mark.parametrize("posthog_client", [{"capture_mode": "v1"}], indirect=True, ids=["capture-v1"])
def test_capture_v1_protocol(posthog_client, project):
    trace_id = f"trace-{uuid.uuid4()}"
    posthog_client.capture(
        "$ai_generation",
        distinct_id="user-9",
        properties={
            "$ai_trace_id": trace_id,
            "$ai_model": "gpt-4o-mini",
            "$ai_input": [{"role": "user", "content": "v1?"}],
            "$session_id": "browser-session-1",
        },
    )
    posthog_client.flush()
    obs = Observation.objects.get(trace__project=project, trace__trace_id=trace_id)
    assert obs.distinct_id == "user-9" and obs.session_id == "browser-session-1"
    assert obs.metadata["$lib"] == "posthog-python"
