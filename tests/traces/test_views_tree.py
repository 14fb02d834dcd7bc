"""Building the trace page's observation tree: orphans, cycles, ordering, aggregation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from traces.models import Observation
from traces.tree import build_tree, default_selection, flatten

T0 = datetime(2026, 12, 1, tzinfo=UTC)
_pk = iter(range(1, 100_000))


def obs(span_id, parent_id="", *, kind="span", at=0, **fields) -> Observation:
    return Observation(
        pk=next(_pk),
        span_id=span_id,
        parent_id=parent_id,
        kind=kind,
        started_at=T0 + timedelta(seconds=at),
        **fields,
    )


def shape(roots) -> list[tuple[str, int]]:
    return [(n.span_id, n.depth) for n in flatten(roots)]


def test_children_sorted_by_start_time_under_their_parents():
    roots = build_tree([obs("b", "root", at=2), obs("root"), obs("a", "root", at=1), obs("a1", "a", at=3)])
    assert shape(roots) == [("root", 0), ("a", 1), ("a1", 2), ("b", 1)]


def test_missing_or_unknown_parent_makes_a_top_level_node():
    roots = build_tree([obs("x", "nowhere"), obs("y", at=1), obs("z", "z", at=2)])
    assert shape(roots) == [("x", 0), ("y", 0), ("z", 0)]


def test_orphans_go_under_the_observation_that_stands_for_the_trace():
    roots = build_tree([obs("trace-1", at=0), obs("gen", "", at=1), obs("tool", "unknown", at=2)], "trace-1")
    assert shape(roots) == [("trace-1", 0), ("gen", 1), ("tool", 1)]


def test_trace_root_with_a_parent_of_its_own_stays_the_root():
    roots = build_tree([obs("trace-1", "gen"), obs("gen", "trace-1", at=1)], "trace-1")
    assert shape(roots) == [("trace-1", 0), ("gen", 1)]


def test_cycles_are_broken_and_every_node_is_shown_once():
    nodes = [
        obs("a", "c", at=0),
        obs("b", "a", at=1),
        obs("c", "b", at=2),
        obs("d", "c", at=3),
        obs("e", "e"),
    ]
    roots = build_tree(nodes)
    flat = shape(roots)
    assert sorted(s for s, _ in flat) == ["a", "b", "c", "d", "e"]
    assert flat[:4] == [("a", 0), ("b", 1), ("c", 2), ("d", 3)]


def test_two_node_cycle_under_a_real_root():
    roots = build_tree([obs("root"), obs("x", "y", at=1), obs("y", "x", at=2)])
    assert sorted(s for s, _ in shape(roots)) == ["root", "x", "y"]


def test_events_are_left_out():
    assert shape(build_tree([obs("a"), obs("fb", "a", kind="event")])) == [("a", 0)]


def test_deep_chain_does_not_hit_the_recursion_limit():
    chain = [obs("n0", latency=None)] + [obs(f"n{i}", f"n{i - 1}", at=i) for i in range(1, 3000)]
    chain[-1].latency = 0.5
    chain[-1].total_cost = Decimal("0.002")
    roots = build_tree(chain)
    assert len(flatten(roots)) == 3000
    assert roots[0].latency == 0.5 and roots[0].cost == Decimal("0.002")


def test_parent_without_own_values_shows_the_sum_of_its_children():
    roots = build_tree(
        [
            obs("agent"),
            obs(
                "g1",
                "agent",
                kind="generation",
                at=1,
                total_cost=Decimal("0.01"),
                input_tokens=10,
                output_tokens=5,
                latency=1.0,
            ),
            obs("step", "agent", at=2),
            obs(
                "g2",
                "step",
                kind="generation",
                at=3,
                input_cost=Decimal("0.02"),
                output_cost=Decimal("0.03"),
                input_tokens=7,
                latency=2.0,
            ),
            obs("g3", "step", kind="generation", at=4, total_cost=Decimal("0.5"), is_error=True),
        ]
    )
    agent = roots[0]
    step = agent.children[1]
    assert step.cost == Decimal("0.55") and step.cost_is_sum
    assert step.tokens == 7 and step.tokens_is_sum
    assert step.latency == 2.0 and step.latency_is_sum
    assert agent.cost == Decimal("0.56") and agent.tokens == 22 and agent.latency == 3.0
    assert agent.error_below and step.error_below and not agent.children[0].error_below


def test_own_values_win_over_children_so_nothing_is_counted_twice():
    roots = build_tree(
        [
            obs("agent", total_cost=Decimal("1.00"), latency=9.0, input_tokens=100, output_tokens=0),
            obs(
                "g1",
                "agent",
                kind="generation",
                at=1,
                total_cost=Decimal("0.40"),
                latency=1.0,
                input_tokens=50,
            ),
        ]
    )
    assert roots[0].cost == Decimal("1.00") and not roots[0].cost_is_sum
    assert roots[0].latency == 9.0 and roots[0].tokens == 100


def test_latency_from_start_and_end_when_not_reported():
    node = obs("a", ended_at=T0 + timedelta(seconds=2.5))
    assert build_tree([node])[0].latency == 2.5


def test_nothing_reported_anywhere_stays_empty():
    root = build_tree([obs("a"), obs("b", "a", at=1)])[0]
    assert root.cost is None and root.tokens is None and root.latency is None


def test_default_selection_prefers_a_root_with_content_else_the_first_generation():
    with_content = flatten(build_tree([obs("r", input_preview="hi"), obs("g", "r", kind="generation", at=1)]))
    assert default_selection(with_content).span_id == "r"
    bare_root = flatten(build_tree([obs("r"), obs("s", "r", at=1), obs("g", "r", kind="generation", at=2)]))
    assert default_selection(bare_root).span_id == "g"
    assert default_selection([]) is None
