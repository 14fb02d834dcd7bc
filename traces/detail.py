"""What the trace page shows for the selected observation, beyond its conversation: metadata,
model parameters and tools as rows of plain strings (the template escapes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from traces.conversation import TRUNCATED_MARKER, Rendered, pretty_json
from traces.models import Observation

MAX_ROWS = 500


@dataclass
class Row:
    key: str
    value: str
    is_block: bool = False  # multi-line JSON: shown in a <pre>


@dataclass
class Tool:
    name: str
    description: str
    schema: str


def _value_row(key: str, value: Any) -> Row:
    if isinstance(value, (dict, list)):
        return Row(key, pretty_json(value), is_block=True)
    if value is None:
        return Row(key, "null")
    if isinstance(value, bool):
        return Row(key, "true" if value else "false")
    text = str(value)
    return Row(key, text, is_block="\n" in text or len(text) > 200)


def rows(value: Any) -> list[Row]:
    """Key/value rows of a JSON object; anything else is one block row."""
    if value in (None, {}, []):
        return []
    if isinstance(value, dict) and not value.get(TRUNCATED_MARKER):
        return [_value_row(str(k), v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))[:MAX_ROWS]]
    return [_value_row("value", value)]


def tools(value: Any) -> tuple[list[Tool], str]:
    """Tool definitions (OpenAI chat/Responses, Anthropic), or the raw JSON when unknown."""
    if not value:
        return [], ""
    if not isinstance(value, list):
        return [], pretty_json(value)
    out: list[Tool] = []
    for item in value[:MAX_ROWS]:
        if not isinstance(item, dict):
            return [], pretty_json(value)
        spec = item.get("function") if isinstance(item.get("function"), dict) else item
        name = spec.get("name") or item.get("type")
        if not name:
            return [], pretty_json(value)
        schema = spec.get("parameters") or spec.get("input_schema") or spec.get("inputSchema")
        out.append(Tool(str(name), str(spec.get("description") or ""), pretty_json(schema) if schema else ""))
    return out, ""


@dataclass
class ObservationDetail:
    obs: Observation
    input: Rendered
    output: Rendered

    @property
    def metadata(self) -> list[Row]:
        return rows(self.obs.metadata)

    @property
    def parameters(self) -> list[Row]:
        return rows(self.obs.model_parameters)

    @property
    def tool_list(self) -> tuple[list[Tool], str]:
        return tools(self.obs.tools)
