"""The normaliser: derived trace fields, previews, truncation, idempotent storing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from traces.ingest.normalise import (
    MAX_FIELD_BYTES,
    TRUNCATED_MARKER,
    ObservationIn,
    RejectedEvent,
    as_datetime,
    as_decimal,
    as_int,
    clip_json,
    preview_input,
    store_observations,
    text_preview,
)
from traces.models import Observation, Trace

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def obs(span_id: str, *, trace_id: str = "t", seconds: float = 0, **kw) -> ObservationIn:
    kw.setdefault("started_at", T0 + timedelta(seconds=seconds))
    item = ObservationIn(trace_id=trace_id, span_id=span_id, **kw)
    item.validate()
    return item


@pytest.mark.django_db
class TestDerivedFields:
    def store(self, project, *items):
        store_observations(project, list(items))
        return Trace.objects.get(project=project, trace_id="t")

    def test_name_is_the_root_span_else_the_first_generation(self, project):
        trace = self.store(project, obs("g", kind="generation", name="llm-call", model="gpt-4o", seconds=1))
        assert trace.name == "llm-call"
        trace = self.store(
            project, obs("root", kind="span", name="agent-run"), obs("child", parent_id="root", name="x")
        )
        assert trace.name == "agent-run"
        # a trace-level root (span id == trace id) wins over other roots
        trace = self.store(project, obs("t", kind="span", name="the-trace", seconds=-1))
        assert trace.name == "the-trace"

    def test_times_latency_tokens_cost_error_models(self, project):
        trace = self.store(
            project,
            obs("root", name="run", latency=10.0),
            obs("g1", parent_id="root", kind="generation", model="gpt-4o", seconds=1, latency=2.0,
                input_tokens=100, output_tokens=20, total_cost=Decimal("0.01")),
            obs("g2", parent_id="root", kind="generation", model="claude-3-5-sonnet", seconds=4, latency=1.0,
                input_tokens=50, output_tokens=5, input_cost=Decimal("0.002"), output_cost=Decimal("0.001"),
                is_error=True),
            obs("e", kind="embedding", model="text-embedding-3-small", seconds=0.5, input_tokens=7),
        )  # fmt: skip
        assert trace.started_at == T0
        assert trace.ended_at == T0 + timedelta(seconds=10) and trace.latency == 10.0
        assert (trace.input_tokens, trace.output_tokens) == (157, 25)
        assert trace.total_cost == Decimal("0.013")
        assert trace.has_error
        assert trace.models_list == ["claude-3-5-sonnet", "gpt-4o", "text-embedding-3-small"]
        assert trace.observation_count == 4

    def test_events_are_not_in_the_tree_and_do_not_stretch_the_times(self, project):
        trace = self.store(
            project,
            obs("g", kind="generation", latency=1.0),
            obs("fb", kind="event", type_label="feedback", seconds=7200, output="bad"),
        )
        assert trace.latency == 1.0 and trace.observation_count == 1

    def test_session_distinct_id_and_previews(self, project):
        trace = self.store(
            project,
            obs("g1", kind="generation", session_id="s-1", distinct_id="u-1",
                input=[{"role": "system", "content": "Be nice."}, {"role": "user", "content": "First question"}],
                output=[{"role": "assistant", "content": "First answer"}]),
            obs("g2", kind="generation", seconds=2,
                input=[{"role": "user", "content": "Second question"}],
                output={"choices": [{"message": {"role": "assistant", "content": "Second answer"}}]}),
        )  # fmt: skip
        assert (trace.session_id, trace.distinct_id) == ("s-1", "u-1")
        assert trace.input_preview == "First question"
        assert trace.output_preview == "Second answer"

    def test_fields_follow_late_arrivals_in_any_order(self, project):
        self.store(
            project, obs("child", parent_id="root", kind="generation", seconds=2, total_cost=Decimal("1"))
        )
        trace = self.store(project, obs("root", name="late-root", latency=5.0))
        assert trace.name == "late-root" and trace.latency == 5.0 and trace.total_cost == Decimal("1")

    def test_unchanged_resend_is_not_rewritten_and_is_counted(self, project):
        item = obs("g", kind="generation", input="hi")
        first = store_observations(project, [item])
        assert (first.traces_created, first.observations_created) == (1, 1)
        stored = Observation.objects.get()
        again = store_observations(project, [obs("g", kind="generation", input="hi")])
        assert (again.traces_unchanged, again.observations_unchanged, again.observations_written) == (1, 1, 0)
        assert Observation.objects.get().received_at == stored.received_at
        changed = store_observations(project, [obs("g", kind="generation", input="hello")])
        assert (changed.traces_updated, changed.observations_updated) == (1, 1)

    def test_last_copy_in_one_batch_wins(self, project):
        store_observations(project, [obs("g", output="first"), obs("g", output="second")])
        assert Observation.objects.get().output == "second"

    def test_totals_are_clamped_to_what_the_columns_hold(self, project):
        huge = [
            obs(f"g{i}", kind="generation", input_tokens=2**62, total_cost=Decimal("900000000"))
            for i in range(3)
        ]
        trace = self.store(project, *huge)
        assert trace.input_tokens == 2**63 - 1
        assert trace.total_cost == Decimal(10) ** 9

    def test_self_parent_is_a_root(self, project):
        trace = self.store(project, obs("a", parent_id="a", name="loop"))
        assert trace.name == "loop"


@pytest.mark.django_db
def test_a_field_over_1_mb_is_truncated_with_a_marker(project):
    big = "x" * (MAX_FIELD_BYTES + 10)
    store_observations(project, [obs("g", input=big, output=[{"content": "y" * (MAX_FIELD_BYTES + 10)}])])
    stored = Observation.objects.get()
    for value in (stored.input, stored.output):
        assert value[TRUNCATED_MARKER] is True and value["original_bytes"] > MAX_FIELD_BYTES
        assert len(value["text"].encode()) <= MAX_FIELD_BYTES
    assert stored.input_preview.startswith("xxx") and len(stored.input_preview) <= 300


def test_clip_json_keeps_values_up_to_1_mb_whole():
    value = {"messages": ["a" * 1000] * 100}
    assert clip_json(value) is value
    assert clip_json("short") == "short"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (12.9, 12),
        ("3.0", 3),
        (None, None),
    ],
)
def test_as_int(value, expected):
    assert as_int(value, "n") == expected


@pytest.mark.parametrize("value", [True, "abc", [1], float("nan")])
def test_as_int_rejects(value):
    with pytest.raises(RejectedEvent):
        as_int(value, "n")


def test_as_decimal_and_datetime():
    assert as_decimal("0.00042", "c") == Decimal("0.0004200000")
    with pytest.raises(RejectedEvent, match="out of range"):
        as_decimal("1e30", "c")
    assert as_datetime("2026-12-01T12:00:00Z", "t") == T0
    assert as_datetime(T0.timestamp() * 1000, "t") == T0  # epoch milliseconds
    assert as_datetime("2026-12-01T12:00:00", "t") == T0  # naive means UTC
    with pytest.raises(RejectedEvent):
        as_datetime({"a": 1}, "t")


def test_previews_skip_system_messages_and_collapse_whitespace():
    messages = [
        {"role": "system", "content": "secret rules"},
        {"role": "user", "content": "  Hello\n\n world  "},
    ]
    assert preview_input(messages) == "Hello world"
    assert text_preview([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], last=True) == "b"
    assert len(text_preview("z" * 1000)) == 300


def test_validate_rejects_bad_ids_and_deep_json():
    with pytest.raises(RejectedEvent, match="trace id is missing"):
        ObservationIn(trace_id=" ", span_id="s").validate()
    with pytest.raises(RejectedEvent, match="longer than 255"):
        ObservationIn(trace_id="t", span_id="s" * 256).validate()
    deep: list = []
    node = deep
    for _ in range(200):
        node.append([])
        node = node[0]
    with pytest.raises(RejectedEvent, match="nested deeper"):
        ObservationIn(trace_id="t", span_id="s", input=deep).validate()


def test_validate_cleans_nul_and_surrogates():
    item = ObservationIn(
        trace_id="t", span_id="s", input={"a\x00": ["b\x00", "\ud800"]}, metadata={"k": "v\x00"}
    )
    item.validate()
    assert item.input == {"a\ufffd": ["b\ufffd", "\ufffd"]} and item.metadata == {"k": "v\ufffd"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_for_one_new_trace_lose_nothing(project):
    """Two batches racing on a trace that does not exist yet: one trace, both spans, both counted."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def send(index: int) -> None:
        try:
            barrier.wait()
            store_observations(
                project,
                [
                    obs(
                        f"g{index}",
                        kind="generation",
                        seconds=index,
                        input_tokens=10,
                        total_cost=Decimal("0.25"),
                    )
                ],
            )
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    trace = Trace.objects.get(project=project, trace_id="t")
    assert trace.observation_count == 4 and trace.input_tokens == 40 and trace.total_cost == Decimal("1")
