"""`import_traces`: every shared fixture file, format detection, reports, idempotency."""

from __future__ import annotations

import html
import json
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.traces.factories import generation
from traces.models import Observation, Trace

pytestmark = pytest.mark.django_db


def run_import(project, *paths) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_traces", *map(str, paths), project=project.slug, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def snapshot(project) -> dict:
    return {
        t.trace_id: (
            t.name, t.started_at, t.latency, t.input_tokens, t.output_tokens, t.total_cost, t.has_error,
            t.observation_count, sorted(t.observations.values_list("span_id", "parent_id", "content_hash")),
        )
        for t in Trace.objects.filter(project=project)
    }  # fmt: skip


def trace_files(fixtures_dir: Path) -> list[Path]:
    files = sorted((fixtures_dir / "posthog").glob("*.json")) + sorted(
        (fixtures_dir / "langfuse").glob("*.trace.json")
    )
    assert len(files) >= 12, "expected the PostHog and Langfuse fixtures"
    return files


def test_every_posthog_and_langfuse_fixture_imports_idempotently(project, fixtures_dir):
    for path in trace_files(fixtures_dir):
        out, err = run_import(project, path)
        assert "0 rejected" in out and not err, (path.name, out, err)
    first = snapshot(project)
    assert len(first) >= 9

    out, err = run_import(project, *trace_files(fixtures_dir))
    assert "traces 0 created, 0 updated" in out and "observations 0 created, 0 updated" in out, out
    assert snapshot(project) == first


def test_fixture_trees_have_resolved_parents(project, fixtures_dir):
    run_import(project, *trace_files(fixtures_dir))
    for trace in Trace.objects.filter(project=project):
        spans = {o.span_id: o for o in trace.observations.in_tree()}
        assert spans, trace.trace_id
        for obs in spans.values():
            # Resolved, or PostHog's "belongs to the trace" when no $ai_trace event was sent.
            assert not obs.parent_id or obs.parent_id in spans or obs.parent_id == trace.trace_id, (
                trace.trace_id, obs.span_id, obs.parent_id,
            )  # fmt: skip
        if any(o.source == "langfuse" for o in spans.values()):
            # Langfuse: the trace is the one root, and every parent exists.
            roots = [o for o in spans.values() if not o.parent_id]
            assert [r.span_id for r in roots] == [trace.trace_id]
            assert all(o.parent_id in spans for o in spans.values() if o.parent_id)
        assert trace.name and trace.started_at and trace.observation_count == len(spans)


def test_langfuse_mapping(project, fixtures_dir):
    run_import(project, fixtures_dir / "langfuse" / "openai-agents-2025-09-30.trace.json")
    trace = Trace.objects.get(project=project, trace_id="fee618f96dc31e0ca38b2f7b26eb8b29")
    assert trace.name == "Agent workflow"
    by_id = {o.span_id: o for o in trace.observations.all()}
    assert by_id["e5a76f27f51ad40e"].type_label == "AGENT" and by_id["e5a76f27f51ad40e"].kind == "span"
    assert by_id["5b99c3e3411ed17b"].type_label == "TOOL"
    gen = by_id["90d94774e8e3724d"]
    assert gen.kind == "generation" and gen.model == "gpt-4.1-2025-04-14" and gen.provider == "openai"
    assert (gen.input_tokens, gen.output_tokens) == (85, 29) and str(gen.total_cost).startswith("0.000402")
    assert isinstance(gen.input, list) and gen.input[0]["content"] == "What's the weather in Tokyo?"
    assert isinstance(gen.output, dict)  # JSON text parsed back
    assert gen.parent_id == "d950b668796240b5"
    assert (trace.input_tokens, trace.output_tokens) == (140, 44)
    scores = trace.observations.filter(kind="event")
    assert {s.name for s in scores} == {"toxicity", "hallucination"} or scores.count() == 2


def test_langfuse_millisecond_latency_is_read_from_the_times(project, fixtures_dir):
    run_import(project, fixtures_dir / "langfuse" / "pydantic-ai-tools-2025-12-04.trace.json")
    trace = Trace.objects.get(project=project)
    assert 7 < trace.latency < 8
    assert max(trace.observations.values_list("latency", flat=True)) < 8


def test_fixture_trace_pages_render_their_conversations(project, fixtures_dir, reviewer_client):
    run_import(project, *trace_files(fixtures_dir))
    checked = 0
    for chatml in sorted((fixtures_dir / "langfuse").glob("*.chatml.json")):
        for span_id, conversation in json.loads(chatml.read_text()).items():
            obs = Observation.objects.filter(trace__project=project, span_id=span_id).first()
            assert obs is not None, (chatml.name, span_id)
            response = reviewer_client.get(obs.trace.get_absolute_url(), {"span": span_id})
            assert response.status_code == 200
            page = response.content.decode()
            for side in ("input", "output"):
                texts = [
                    m["content"]
                    for m in (conversation.get(side) or {}).get("data") or []
                    if isinstance(m, dict)
                    and isinstance(m.get("content"), str)
                    and m["content"].strip()
                    # JSON text (tool results) is shown pretty-printed, so not verbatim
                    and m["content"].strip()[0] not in "[{"
                ]
                for text in texts[:2]:
                    snippet = text.strip().splitlines()[0][:60]
                    assert html.escape(snippet) in page, (chatml.name, span_id, side, snippet)
                    checked += 1
    assert checked >= 20


def test_posthog_trace_export_keeps_its_name_and_person(project, fixtures_dir):
    run_import(project, fixtures_dir / "posthog" / "posthog-trace-export-without-content.json")
    trace = Trace.objects.get(trace_id="537b7988-0186-494f-a313-77a5a8f7db26")
    assert trace.name == "Trace without content" and trace.distinct_id == "test-user-123"
    gen = trace.observations.get(kind="generation")
    assert gen.parent_id == trace.trace_id and gen.event_uuid == "0194b2ce-f18c-7785-8fc1-299e70777852"
    assert (trace.input_tokens, trace.output_tokens) == (10, 15)


# --- formats and reports -----------------------------------------------------------------------


def test_jsonl_events_with_bad_lines_reports_file_and_line(project, tmp_path):
    path = tmp_path / "events.jsonl"
    bad = generation("t2")
    del bad["properties"]["$ai_trace_id"]
    lines = [
        json.dumps(generation("t1")),
        "{broken json",
        json.dumps(bad),
        json.dumps({"event": "$pageview", "properties": {}}),
        "",
        json.dumps(generation("t3", input_tokens="lots")),
    ]
    path.write_text("\n".join(lines) + "\n")
    out, err = run_import(project, path)
    assert "traces 1 created" in out and "1 skipped" in out and "3 rejected" in out
    assert f"{path}:line 2: not valid JSON" in err
    assert f"{path}:line 3: properties.$ai_trace_id is missing" in err
    assert f"{path}:line 6: $ai_input_tokens must be a whole number" in err


@pytest.mark.parametrize(
    "wrap",
    [
        lambda events: events,
        lambda events: {"batch": events, "api_key": "ignored"},
        lambda events: {"results": events},
        lambda events: [
            {"id": "tr-1", "events": [{**e, "id": e["uuid"], "createdAt": e["timestamp"]} for e in events]}
        ],
        lambda events: {"results": [{"id": "tr-1", "events": events}]},
    ],
    ids=["list", "batch", "results", "trace-objects", "results-of-trace-objects"],
)
def test_posthog_shapes_are_detected(project, tmp_path, wrap):
    events = [generation("tr-1", span_id="a"), generation("tr-1", span_id="b")]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(wrap(events)))
    out, _ = run_import(project, path)
    assert "observations 2 created" in out, out
    assert sorted(Observation.objects.values_list("span_id", flat=True)) == ["a", "b"]


def test_langfuse_list_and_api_envelope(project, tmp_path, fixtures_dir):
    docs = [json.loads(p.read_text()) for p in sorted((fixtures_dir / "langfuse").glob("*.trace.json"))[:2]]
    (tmp_path / "list.json").write_text(json.dumps(docs))
    embedded = [{**d["trace"], "observations": d["observations"]} for d in docs]
    (tmp_path / "api.json").write_text(json.dumps({"data": embedded, "meta": {"page": 1}}))
    out, _ = run_import(project, tmp_path / "list.json")
    assert "traces 2 created" in out
    out, _ = run_import(project, tmp_path / "api.json")
    assert "traces 0 created, 0 updated, 2 unchanged" in out


def test_unrecognised_documents_are_reported_not_fatal(project, tmp_path):
    (tmp_path / "odd.json").write_text(json.dumps({"hello": "world"}))
    (tmp_path / "good.json").write_text(json.dumps([generation("t")]))
    out, err = run_import(project, tmp_path / "odd.json", tmp_path / "good.json")
    assert "traces 1 created" in out and "unrecognised document" in err


def test_nothing_importable_is_a_command_error(project, tmp_path):
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(CommandError, match="nothing was imported"):
        run_import(project, tmp_path / "bad.json")


def test_unknown_project_and_missing_file(project, tmp_path):
    with pytest.raises(CommandError, match="no project"):
        call_command("import_traces", str(tmp_path), project="nope", stdout=StringIO())
    with pytest.raises(CommandError, match="no such file"):
        run_import(project, tmp_path / "missing.json")


def test_otlp_json_without_the_otlp_module_is_reported(project, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "traces.ingest.otlp", None)  # as if the module were absent
    (tmp_path / "otlp.json").write_text(json.dumps({"resourceSpans": []}))
    (tmp_path / "good.json").write_text(json.dumps([generation("t")]))
    _, err = run_import(project, tmp_path / "otlp.json", tmp_path / "good.json")
    assert "OTLP JSON import not available" in err


def test_otlp_fixtures_import_through_the_otlp_module(project, fixtures_dir):
    pytest.importorskip("traces.ingest.otlp")
    files = sorted((fixtures_dir / "otlp").glob("*.json"))
    out, err = run_import(project, *files)
    assert "0 rejected" in out, err
    assert Trace.objects.filter(project=project).count() >= len(files)
    again, _ = run_import(project, *files)
    assert "observations 0 created, 0 updated" in again


def test_folder_import_reads_json_and_jsonl(project, tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([generation("a")]))
    (tmp_path / "b.jsonl").write_text(json.dumps(generation("b")) + "\n" + json.dumps(generation("c")) + "\n")
    (tmp_path / "notes.txt").write_text("not a trace")
    out, _ = run_import(project, tmp_path)
    assert "Imported 2 file(s)" in out and "traces 3 created" in out


# --- the demo samples ------------------------------------------------------------------------


def test_load_demo_imports_the_samples_idempotently_and_prints_the_login_last():
    out = StringIO()
    call_command("load_demo", stdout=out)
    first = out.getvalue()
    assert "0 rejected" in first and "traces 14 created" in first
    assert [line for line in first.splitlines() if line.strip()][-1].startswith("Log in with user: demo")
    counts = (Trace.objects.count(), Observation.objects.count())
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "traces 0 created, 0 updated, 14 unchanged" in out.getvalue()
    assert (Trace.objects.count(), Observation.objects.count()) == counts
    assert [line for line in out.getvalue().splitlines() if line.strip()][-1].startswith(
        "Log in with user: demo"
    )


def test_samples_cover_the_demo_stories(project):
    samples = sorted((Path(__file__).resolve().parents[2] / "traces" / "samples").glob("*.json*"))
    run_import(project, *samples)
    traces = Trace.objects.filter(project=project)
    assert 10 <= traces.count() <= 15
    assert traces.filter(has_error=True).count() >= 2
    assert traces.filter(name="docs-rag-agent").get().observations.filter(kind="embedding").exists()
    assert (
        Observation.objects.filter(trace__project=project, kind="event", type_label="feedback").count() >= 2
    )
    assert Observation.objects.filter(trace__project=project, kind="event", type_label="metric").exists()
    assert Observation.objects.filter(trace__project=project, http_status__in=[429, 500]).count() == 2
    assert len({m for t in traces for m in t.models_list}) >= 6
    assert traces.filter(session_id="sess-dolomites-0918").count() == 3


def test_sample_html_and_image_are_shown_as_text_and_link(project, reviewer_client):
    samples = sorted((Path(__file__).resolve().parents[2] / "traces" / "samples").glob("*.json*"))
    run_import(project, *samples)
    xss = Trace.objects.get(project=project, trace_id="html-snippet-xss-1")
    page = reviewer_client.get(xss.get_absolute_url(), {"span": "g"}).content.decode()
    assert "<script>alert(1)</script>" not in page and "<img src=x onerror" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    vision = Trace.objects.get(project=project, trace_id="receipt-vision-3310")
    page = reviewer_client.get(vision.get_absolute_url(), {"span": "g"}).content.decode()
    url = "https://images.example.com/receipts/3310.png"
    assert f'href="{url}"' in page and f'src="{url}"' not in page
