"""Turn the message shapes LLM SDKs send into one render model for the trace page (SPEC §2.2).

Known shapes: OpenAI chat messages (content as a string or a list of parts, `tool_calls`),
OpenAI Responses input/output items (`message`, `function_call`, `function_call_output`,
`output_text`, `reasoning`), Anthropic content blocks (`text`, `tool_use`, `tool_result`,
`image`, `thinking`), PostHog `$ai_input` / `$ai_output_choices` (including `{"message": ...}`
choices), OpenTelemetry GenAI `parts`, Gemini `contents`/`candidates`, LangChain messages and
`{"messages": [...]}` wrappers, Vercel AI SDK tool calls, and plain strings. Anything else is
`None` from `parse_conversation`, and the page shows it as pretty-printed JSON.

Nothing here produces HTML: the template escapes every string. Images and files become links
(only http/https URLs; inline data is described, never embedded), so no trace can make the
reviewer's browser load a remote resource.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from traces.ingest.normalise import loads_strict_json

TRUNCATED_MARKER = "$truncated"
LONG_SYSTEM_PROMPT = 600  # characters
MAX_DEPTH = 6

ROLE_ALIASES = {
    "human": "user",
    "ai": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "function": "tool",
    "tool_result": "tool",
    "ipython": "tool",
    "chat": "user",
}
KNOWN_ROLES = {"system", "developer", "user", "assistant", "tool"}
TEXT_TYPES = {"text", "input_text", "output_text", "summary_text"}
IMAGE_TYPES = {"image", "image_url", "input_image", "output_image"}
# Keys of request/response bodies around a message list; a dict with other keys is state, not a body.
ENVELOPE_KEYS = {
    "messages",
    "input",
    "output",
    "prompt",
    "contents",
    "choices",
    "system",
    "instructions",
    "model",
    "temperature",
    "max_tokens",
    "max_output_tokens",
    "top_p",
    "tools",
    "tool_choice",
    "stream",
    "id",
    "object",
    "created",
    "created_at",
    "usage",
    "status",
    "metadata",
    "parallel_tool_calls",
    "error",
    "incomplete_details",
    "reasoning",
    "text",
    "truncation",
    "user",
    "store",
    "previous_response_id",
    "service_tier",
    "top_logprobs",
    "background",
    "prompt_cache_key",
    "safety_identifier",
    "n",
    "stop",
    "response_format",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "system_fingerprint",
}
FILE_TYPES = {"file", "input_file", "document", "input_audio", "audio", "blob", "uri"}


@dataclass
class Part:
    """One piece of a message: text, a tool call, a tool result, an attachment, or raw JSON."""

    kind: str  # text | reasoning | refusal | tool_call | tool_result | image | file | json
    text: str = ""
    name: str = ""
    call_id: str = ""
    arguments: str = ""  # pretty JSON (or the raw string when it is not JSON)
    url: str = ""  # only ever an http(s) URL, shown as a link
    detail: str = ""  # what an attachment is when it has no safe URL ("image/png, 12 KB inline")
    is_error: bool = False
    parts: list[Part] = field(default_factory=list)  # content of a tool result


@dataclass
class Message:
    role: str  # system | developer | user | assistant | tool | "" (unknown)
    parts: list[Part] = field(default_factory=list)
    name: str = ""
    call_id: str = ""

    @property
    def role_class(self) -> str:
        return self.role if self.role in KNOWN_ROLES else "other"

    @property
    def collapsed(self) -> bool:
        """Long system prompts start folded: reviewers read them once, not on every span."""
        return (
            self.role in ("system", "developer") and sum(len(p.text) for p in self.parts) > LONG_SYSTEM_PROMPT
        )

    @property
    def excerpt(self) -> str:
        text = " ".join(" ".join(p.text for p in self.parts if p.text).split())
        return text[:160] + ("…" if len(text) > 160 else "")


@dataclass
class Rendered:
    """What the trace page shows for one input or output field."""

    messages: list[Message] | None  # None: unknown shape, show `raw`
    raw: str  # pretty-printed JSON (or the text), always available for the raw view
    truncated: bool = False
    original_bytes: int | None = None
    empty: bool = False


def pretty_json(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _maybe_json(value: Any) -> Any:
    """Decode a string that holds JSON (Langfuse and OTel often send messages as JSON text)."""
    for _ in range(2):  # twice: some exporters JSON-encode an already encoded string
        if not isinstance(value, str):
            break
        text = value.strip()
        if not (text[:1] in ("{", "[", '"') and text[-1:] in ("}", "]", '"')):
            break
        try:
            # Strict, and safe against nesting deep enough to exhaust the stack (a 500 otherwise).
            decoded = loads_strict_json(text)
        except (ValueError, RecursionError):
            break
        if isinstance(decoded, str) and decoded.strip()[:1] not in ("{", "["):
            break  # a quoted plain string stays as the text it is
        value = decoded
    return value


def _arguments(value: Any) -> str:
    decoded = _maybe_json(value)
    if isinstance(decoded, (dict, list)):
        return pretty_json(decoded)
    return "" if decoded is None else str(decoded)


def _role(value: Any) -> str:
    role = str(value or "").strip().lower()
    return ROLE_ALIASES.get(role, role)


def _safe_url(url: Any) -> str:
    if isinstance(url, str) and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return ""


def _inline_detail(kind: str, url: Any = None, media_type: Any = None, data: Any = None) -> str:
    media = str(media_type or "")
    if isinstance(url, str) and url.startswith("data:"):
        media = media or url[5:].split(";", 1)[0].split(",", 1)[0]
        data = url
    size = f", {len(data) * 3 // 4 // 1024} KB inline" if isinstance(data, str) and data else ""
    label = media or kind
    return f"{label}{size} (inline data not shown)" if size or media else f"{kind} (no link)"


def _attachment(kind: str, url: Any, name: Any = "", media_type: Any = None, data: Any = None) -> Part:
    safe = _safe_url(url)
    return Part(
        kind=kind,
        url=safe,
        name=str(name or ""),
        detail="" if safe else _inline_detail(kind, url, media_type, data),
    )


# --- content blocks ----------------------------------------------------------------------------


def parse_content(content: Any, depth: int = 0) -> list[Part]:
    """Content of one message: a string, a list of blocks, or one block."""
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [Part(kind="text", text=content)]
    if isinstance(content, (int, float, bool)):
        return [Part(kind="text", text=json.dumps(content))]
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return [Part(kind="json", text=pretty_json(content))]
    parts: list[Part] = []
    for block in content:
        parts.extend(_parse_block(block, depth + 1))
    return parts


def _parse_block(block: Any, depth: int) -> list[Part]:
    if isinstance(block, str):
        return [Part(kind="text", text=block)]
    if not isinstance(block, dict) or depth > MAX_DEPTH:
        return [Part(kind="json", text=pretty_json(block))]
    kind = str(block.get("type") or "").lower()

    if kind in TEXT_TYPES or (not kind and isinstance(block.get("text"), str)):
        text = block.get("text")
        if isinstance(text, dict):  # Responses API with `{"text": {"value": ...}}`
            text = text.get("value")
        if text is None:
            text = block.get("content")
        return [Part(kind="text", text=str(text if text is not None else ""))]
    if kind in {"thinking", "reasoning", "redacted_thinking"}:
        text = block.get("thinking") or block.get("text") or block.get("content") or ""
        if not text and isinstance(block.get("summary"), list):
            text = "\n".join(str(s.get("text", "")) for s in block["summary"] if isinstance(s, dict))
        return [Part(kind="reasoning", text=str(text) or "(hidden reasoning)")]
    if kind == "refusal":
        return [Part(kind="refusal", text=str(block.get("refusal") or block.get("text") or ""))]
    if kind in {"tool_use", "tool_call", "function_call", "tool-call", "server_tool_use"}:
        return [_tool_call(block)]
    if kind in {"tool_result", "tool_call_response", "function_call_output", "tool-result"}:
        return [_tool_result(block, depth)]
    if kind in IMAGE_TYPES:
        return [_image(block)]
    if kind in FILE_TYPES:
        return [_file(block)]
    if "functionCall" in block and isinstance(block["functionCall"], dict):  # Gemini parts
        call = block["functionCall"]
        return [
            Part(kind="tool_call", name=str(call.get("name", "")), arguments=_arguments(call.get("args")))
        ]
    if "functionResponse" in block and isinstance(block["functionResponse"], dict):
        response = block["functionResponse"]
        return [
            Part(
                kind="tool_result",
                name=str(response.get("name", "")),
                parts=[Part(kind="json", text=pretty_json(response.get("response")))],
            )
        ]
    if "inlineData" in block or "fileData" in block:
        data = block.get("inlineData") or block.get("fileData") or {}
        if not isinstance(data, dict):
            data = {}
        return [_attachment("file", data.get("fileUri"), "", data.get("mimeType"), data.get("data"))]
    if kind == "text" or ("content" in block and not kind):
        return [Part(kind="text", text=str(block.get("content") or ""))]
    return [Part(kind="json", text=pretty_json(block))]


def _tool_call(block: dict) -> Part:
    function = block.get("function") if isinstance(block.get("function"), dict) else {}
    args = next(
        (block[k] for k in ("arguments", "input", "args") if k in block),
        function.get("arguments"),
    )
    return Part(
        kind="tool_call",
        name=str(block.get("name") or block.get("toolName") or function.get("name") or ""),
        call_id=str(block.get("id") or block.get("call_id") or block.get("toolCallId") or ""),
        arguments=_arguments(args),
    )


def _tool_result(block: dict, depth: int) -> Part:
    content = next(
        (
            block[k]
            for k in ("content", "output", "response", "result")
            if k in block and block[k] is not None
        ),
        None,
    )
    decoded = _maybe_json(content)
    if isinstance(decoded, (dict, list)) and not _looks_like_blocks(decoded):
        inner = [Part(kind="json", text=pretty_json(decoded))]
    else:
        inner = parse_content(content, depth)
    return Part(
        kind="tool_result",
        name=str(block.get("name") or block.get("toolName") or ""),
        call_id=str(
            block.get("tool_use_id")
            or block.get("call_id")
            or block.get("id")
            or block.get("toolCallId")
            or ""
        ),
        is_error=bool(block.get("is_error")),
        parts=inner,
    )


def _looks_like_blocks(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(
        isinstance(i, str)
        or (isinstance(i, dict) and str(i.get("type", "")).lower() in TEXT_TYPES | IMAGE_TYPES)
        for i in items
    )


def _image(block: dict) -> Part:
    url = block.get("image_url") or block.get("url")
    if isinstance(url, dict):
        url = url.get("url")
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    if source:  # Anthropic: {"type": "url", "url"} or {"type": "base64", "media_type", "data"}
        return _attachment("image", source.get("url"), "", source.get("media_type"), source.get("data"))
    return _attachment("image", url, "", block.get("media_type") or block.get("mime_type"), block.get("data"))


def _file(block: dict) -> Part:
    inner = block.get("file") if isinstance(block.get("file"), dict) else {}
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    url = (
        block.get("file_url") or block.get("url") or block.get("uri") or source.get("url") or inner.get("url")
    )
    name = block.get("filename") or inner.get("filename") or block.get("title") or block.get("file_id") or ""
    data = block.get("file_data") or inner.get("file_data") or source.get("data") or block.get("data")
    if isinstance(block.get("input_audio"), dict):
        data = block["input_audio"].get("data")
        return _attachment("file", None, name, "audio/" + str(block["input_audio"].get("format", "")), data)
    media = block.get("media_type") or block.get("mime_type") or source.get("media_type")
    return _attachment("file", url, name, media, data)


# --- messages ----------------------------------------------------------------------------------


def _message(item: Any, default_role: str, depth: int = 0) -> list[Message] | None:
    """One list item as messages, or None when the item is not a message-like object."""
    if isinstance(item, str):
        return [Message(role=default_role, parts=[Part(kind="text", text=item)])]
    if not isinstance(item, dict) or depth > MAX_DEPTH:
        return None
    item_type = str(item.get("type") or "").lower()

    # PostHog / OpenAI choices: {"message": {...}, "finish_reason": ...}
    if isinstance(item.get("message"), dict) and "role" not in item:
        return _message(item["message"], default_role, depth + 1)
    # Responses API items.
    if item_type.endswith("_call") and "role" not in item:
        return [Message(role="assistant", parts=[_tool_call(item)])]
    if item_type in {"function_call_output", "tool-result", "tool_result"} and "role" not in item:
        return [
            Message(role="tool", parts=[_tool_result(item, depth)], call_id=str(item.get("call_id") or ""))
        ]
    if item_type == "reasoning" and "role" not in item:
        return [Message(role="assistant", parts=_parse_block(item, depth + 1))]
    # Vercel AI SDK tool call objects: {"toolCallId", "toolName", "input"|"args"}
    if "toolCallId" in item and "toolName" in item and "role" not in item:
        if "result" in item or "output" in item:
            return [Message(role="tool", parts=[_tool_result(item, depth)])]
        return [Message(role="assistant", parts=[_tool_call(item)])]

    role = item.get("role")
    if role is None and item_type in {"human", "ai", "system", "tool", "chat", "function"}:
        role = item_type  # LangChain serialised messages
    if role is None and item_type == "message":
        role = default_role
    if role is None:
        # A bare content block (PostHog output choices can be `{"type": "text", "text": ...}`).
        if item_type and (item_type in TEXT_TYPES | IMAGE_TYPES | FILE_TYPES or "tool" in item_type):
            return [Message(role=default_role, parts=_parse_block(item, depth + 1))]
        return None

    parts: list[Part] = []
    if "parts" in item and "content" not in item:  # OTel GenAI and Gemini
        parts.extend(parse_content(item.get("parts"), depth + 1))
    else:
        parts.extend(parse_content(item.get("content"), depth + 1))
    if item.get("refusal"):
        parts.append(Part(kind="refusal", text=str(item["refusal"])))
    if item.get("reasoning_content"):
        parts.insert(0, Part(kind="reasoning", text=str(item["reasoning_content"])))
    tool_calls = item.get("tool_calls")
    extra = item.get("additional_kwargs")
    if not tool_calls and isinstance(extra, dict):
        tool_calls = extra.get("tool_calls")
    if isinstance(tool_calls, list):
        parts.extend(_tool_call(c) for c in tool_calls if isinstance(c, dict))
    if isinstance(item.get("function_call"), dict):
        parts.append(_tool_call(item["function_call"]))
    role_name = _role(role)
    call_id = str(item.get("tool_call_id") or "")
    if role_name == "tool" and isinstance(item.get("content"), str):
        decoded = _maybe_json(item["content"])
        if isinstance(decoded, (dict, list)):  # a tool's JSON answer reads better pretty-printed
            parts = [Part(kind="json", text=pretty_json(decoded))] + parts[1:]
    if role_name == "tool" and parts and not any(p.kind == "tool_result" for p in parts):
        parts = [Part(kind="tool_result", call_id=call_id, name=str(item.get("name") or ""), parts=parts)]
    return [Message(role=role_name, parts=parts, name=str(item.get("name") or ""), call_id=call_id)]


def _messages(items: list, default_role: str, depth: int) -> list[Message] | None:
    out: list[Message] = []
    for item in items:
        parsed = _message(item, default_role, depth)
        if parsed is None:
            return None
        out.extend(parsed)
    return out


def parse_conversation(value: Any, default_role: str = "", depth: int = 0) -> list[Message] | None:
    """Messages for a known shape, or None (show raw JSON). `default_role` labels bare text."""
    value = _maybe_json(value)
    if depth > MAX_DEPTH:
        return None
    if value is None or value == "" or value == [] or value == {}:
        return []
    if isinstance(value, str):
        return [Message(role=default_role, parts=[Part(kind="text", text=value)])]
    if isinstance(value, list):
        if all(isinstance(i, str) for i in value):
            return [Message(role=default_role, parts=[Part(kind="text", text=i)]) for i in value]
        return _messages(value, default_role, depth)
    if not isinstance(value, dict):
        return None

    wrapped = _unwrap(value, default_role, depth)
    if wrapped is not None:
        return wrapped
    return _message(value, default_role, depth)


def _unwrap(value: dict, default_role: str, depth: int) -> list[Message] | None:
    """Request/response envelopes around a message list."""
    system: list[Message] = []
    for key in ("system", "instructions", "system_instruction", "systemInstruction"):
        if key in value and isinstance(value[key], (str, list, dict)) and value[key]:
            parsed = (
                parse_conversation(value[key], "system", depth + 1)
                if not isinstance(value[key], str)
                else None
            )
            system = (
                [Message(role="system", parts=[Part(kind="text", text=value[key])])]
                if isinstance(value[key], str)
                else [Message(role="system", parts=[p for m in parsed or [] for p in m.parts])]
            )
            break

    for key in ("messages", "input", "contents", "choices", "output"):
        if key not in value:
            continue
        inner = _maybe_json(value[key])
        is_response = value.get("object") == "response"
        if key in ("input", "output") and not is_response and not (set(value) <= ENVELOPE_KEYS):
            continue  # a state dict that happens to have an "input" key: show it whole
        if key == "output" and value.get("object") != "response" and not _is_item_list(inner):
            continue
        if key == "input" and not (isinstance(inner, str) or _is_item_list(inner)):
            continue
        role = "assistant" if key in ("choices", "output") else (default_role or "user")
        parsed = parse_conversation(inner, role, depth + 1)
        if parsed is not None:
            # Instructions belong to the request: a response's output is shown without them.
            return parsed if key in ("choices", "output") else system + parsed
    if isinstance(value.get("candidates"), list):  # Gemini responses
        contents = [c.get("content") for c in value["candidates"] if isinstance(c, dict) and c.get("content")]
        parsed = _messages(contents, "assistant", depth + 1)
        if parsed is not None:
            return parsed
    if isinstance(value.get("prompt"), str) and set(value) <= ENVELOPE_KEYS:  # Vercel AI SDK: {"prompt": ...}
        return system + [Message(role="user", parts=[Part(kind="text", text=value["prompt"])])]
    if system and len(value) == 1:
        return system
    return None


def _is_item_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(i, dict) and ("role" in i or "type" in i or "message" in i) for i in value)
    )


def render_field(value: Any, default_role: str = "") -> Rendered:
    """The render model of an observation's input or output."""
    if isinstance(value, dict) and value.get(TRUNCATED_MARKER):
        text = str(value.get("text", ""))
        size = value.get("original_bytes")
        return Rendered(
            messages=None,
            raw=text,
            truncated=True,
            original_bytes=size if isinstance(size, int) else None,
        )
    decoded = _maybe_json(value)
    empty = decoded is None or decoded == "" or decoded == [] or decoded == {}
    try:
        messages = parse_conversation(decoded, default_role)
    except (RecursionError, ValueError, TypeError):
        messages = None
    if messages is not None and not any(m.parts for m in messages) and not empty:
        messages = None
    return Rendered(messages=messages, raw=pretty_json(decoded), empty=empty)
