"""The observation tree of a trace page, built in Python from one query's rows (SPEC §2).

A missing or unknown parent makes an observation a child of the trace root: the observation whose
span id is the trace id (PostHog's `$ai_trace`) when there is one, else the top level. Cycles are
broken, never followed. A node that reports no cost, tokens or latency of its own shows the sum
of its children's (each of which is its own value or, again, the sum of its children's), so a
value is never counted twice. Everything is iterative: a 1,000-deep chain must not hit Python's
recursion limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from traces.ingest.normalise import observation_cost
from traces.models import Observation, ObservationKind

FAR_FUTURE = datetime.max


@dataclass
class Node:
    obs: Observation
    depth: int = 0
    children: list[Node] = field(default_factory=list)
    cost: Decimal | None = None
    tokens: int | None = None
    latency: float | None = None
    cost_is_sum: bool = False
    tokens_is_sum: bool = False
    latency_is_sum: bool = False
    # Errors anywhere below, so a collapsed parent still shows that something failed inside it.
    error_below: bool = False
    url: str = ""  # the trace page with this node selected; set by the view

    @property
    def span_id(self) -> str:
        return self.obs.span_id

    @property
    def has_children(self) -> bool:
        return bool(self.children)


def _own_tokens(o: Observation) -> int | None:
    if o.input_tokens is None and o.output_tokens is None:
        return None
    return (o.input_tokens or 0) + (o.output_tokens or 0)


def _sort_key(node: Node) -> tuple:
    started = node.obs.started_at
    return (started is None, started.timestamp() if started else 0.0, node.obs.pk or 0)


def build_tree(observations: Iterable[Observation], trace_id: str = "") -> list[Node]:
    """Root nodes of the tree (children sorted by start time); events are left out."""
    nodes = {o.span_id: Node(o) for o in observations if o.kind != ObservationKind.EVENT}
    parent: dict[str, str | None] = {}
    for span_id, node in nodes.items():
        pid = node.obs.parent_id
        parent[span_id] = pid if pid and pid != span_id and pid in nodes else None
    root_id = trace_id if trace_id in nodes else None
    if root_id is not None:
        parent[root_id] = None

    # Break cycles: walk up from each node; meeting a node of the current walk closes a cycle,
    # and cutting that node's parent link opens it.
    state: dict[str, int] = {}  # 1: on the current walk, 2: done
    for start in sorted(nodes, key=lambda s: _sort_key(nodes[s])):
        walk = []
        current: str | None = start
        while current is not None and current not in state:
            state[current] = 1
            walk.append(current)
            current = parent[current]
        if current is not None and state[current] == 1:
            parent[current] = None
        for span_id in walk:
            state[span_id] = 2

    roots: list[Node] = []
    for span_id, node in nodes.items():
        pid = parent[span_id]
        if pid is None and root_id is not None and span_id != root_id:
            pid = root_id  # orphans belong to the trace, which this observation stands for
        if pid is None:
            roots.append(node)
        else:
            nodes[pid].children.append(node)
    roots.sort(key=_sort_key)

    # Depth-first order (parents before children), then aggregate in reverse (children first).
    order: list[Node] = []
    stack = [(r, 0) for r in reversed(roots)]
    while stack:
        node, depth = stack.pop()
        node.depth = depth
        node.children.sort(key=_sort_key)
        order.append(node)
        stack.extend((c, depth + 1) for c in reversed(node.children))
    for node in reversed(order):
        _aggregate(node)
    return roots


def _aggregate(node: Node) -> None:
    o = node.obs
    node.error_below = o.is_error or any(c.error_below for c in node.children)
    node.cost = observation_cost(o)
    if node.cost is None:
        costs = [c.cost for c in node.children if c.cost is not None]
        if costs:
            node.cost, node.cost_is_sum = sum(costs, Decimal(0)), True
    node.tokens = _own_tokens(o)
    if node.tokens is None:
        tokens = [c.tokens for c in node.children if c.tokens is not None]
        if tokens:
            node.tokens, node.tokens_is_sum = sum(tokens), True
    node.latency = o.latency
    if node.latency is None and o.started_at and o.ended_at:
        node.latency = max((o.ended_at - o.started_at).total_seconds(), 0.0)
    if node.latency is None:
        latencies = [c.latency for c in node.children if c.latency is not None]
        if latencies:
            node.latency, node.latency_is_sum = sum(latencies), True


def flatten(roots: list[Node]) -> list[Node]:
    """Nodes in display order (depth first), for a flat list with indentation."""
    out: list[Node] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children))
    return out


def default_selection(flat: list[Node]) -> Node | None:
    """What the trace page shows when no span is asked for: the first node with a conversation."""
    for node in flat:
        if node.obs.kind == ObservationKind.GENERATION:
            break
    else:
        node = None
    if flat and (flat[0].obs.input_preview or flat[0].obs.output_preview):
        return flat[0]
    return node or (flat[0] if flat else None)


@dataclass
class EventSummary:
    """A `$ai_feedback` or `$ai_metric` (or other event) for the trace header."""

    kind: str  # feedback | metric | event
    label: str
    value: str
    when: datetime | None


def summarise_event(o: Observation) -> EventSummary:
    meta = o.metadata if isinstance(o.metadata, dict) else {}
    hint = f"{o.type_label} {o.name}".lower()
    scalar_output = o.output if isinstance(o.output, (str, int, float, bool)) else None
    if "$ai_metric_name" in meta or "$ai_metric_value" in meta or "metric" in hint:
        value = meta.get("$ai_metric_value", scalar_output)
        return EventSummary(
            "metric",
            str(meta.get("$ai_metric_name") or o.name or "metric"),
            str(value if value is not None else o.output_preview or o.input_preview),
            o.started_at,
        )
    if "$ai_feedback_text" in meta or "feedback" in hint:
        text = meta.get("$ai_feedback_text", scalar_output)
        return EventSummary(
            "feedback",
            "Feedback",
            str(text if text is not None else o.output_preview or o.input_preview),
            o.started_at,
        )
    return EventSummary(
        "event", o.name or o.type_label or "event", o.output_preview or o.input_preview, o.started_at
    )
