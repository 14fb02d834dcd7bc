"""A small OpenAI-compatible server on 127.0.0.1 for the OpenTelemetry end-to-end tests.

It answers `POST /v1/chat/completions` with a fixed completion (and usage), so that real
instrumentations wrap real `openai` client calls without any network. A request whose model is
"fail-model" gets OpenAI's 404 error body, for error spans.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = "Paris is the capital of France."
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
PROMPT_TOKENS = 21
COMPLETION_TOKENS = 8


def chat_completion(model: str) -> dict:
    return {
        "id": "chatcmpl-fake123",
        "object": "chat.completion",
        "created": 1731368630,
        "model": RESPONSE_MODEL if model.startswith("gpt-4o-mini") else model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


class _Handler(BaseHTTPRequestHandler):
    requests: list[dict]

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append({"path": self.path, "body": body})  # type: ignore[attr-defined]
        model = str(body.get("model", ""))
        if not self.path.endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
        elif model == "fail-model":
            message = f"The model `{model}` does not exist"
            self._send(
                404,
                {"error": {"message": message, "type": "invalid_request_error", "code": "model_not_found"}},
            )
        else:
            self._send(200, chat_completion(model))

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # keep test output quiet
        pass


@contextmanager
def fake_openai_server() -> Iterator[ThreadingHTTPServer]:
    """Serve until the block ends; `server.base_url` is the OpenAI `base_url` to use."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []  # type: ignore[attr-defined]
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
