"""A small fake OpenAI-compatible HTTP server on 127.0.0.1, for driving real SDK instrumentation
(PostHog's OpenAI wrapper, OpenTelemetry instrumentations) offline.

    with FakeOpenAI(reply="Paris.") as server:
        client = openai.OpenAI(api_key="sk-test", base_url=server.base_url)

Endpoints: `POST /v1/chat/completions` (plain and `stream: true` with usage chunk),
`POST /v1/embeddings`, `POST /v1/responses`. A model whose name starts with `fail` gets a 404
"model not found" error, and `status=` forces an error status (429, 500, ...) for every call.
Every request body is kept in `server.requests`.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    def __init__(
        self,
        *,
        reply: str = "Paris is the capital of France.",
        prompt_tokens: int = 21,
        completion_tokens: int = 8,
        status: int = 200,
        response_model: str | None = None,
    ):
        self.reply = reply
        # A dated model name in answers, as OpenAI gives ("gpt-4o-mini" -> "gpt-4o-mini-2024-07-18").
        self.response_model = response_model
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.status = status
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                fake.requests.append({"path": self.path, "body": body})
                fake.handle(self, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- responses ---------------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        model = str(body.get("model") or "gpt-4o-mini")
        if self.status >= 400:
            return self._error(handler, self.status, f"fake error {self.status}", "server_error")
        if model.startswith("fail"):
            return self._error(handler, 404, f"The model `{model}` does not exist", "model_not_found")
        model = self.response_model or model
        path = handler.path.rstrip("/")
        if path.endswith("/chat/completions"):
            if body.get("stream"):
                return self._stream_chat(handler, model)
            return self._json(handler, self.chat_completion(model))
        if path.endswith("/embeddings"):
            return self._json(handler, self.embedding(model, body.get("input")))
        if path.endswith("/responses"):
            return self._json(handler, self.response(model))
        return self._error(handler, 404, f"unknown path {handler.path}", "not_found")

    def usage(self) -> dict:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    def chat_completion(self, model: str) -> dict:
        return {
            "id": "chatcmpl-fake-1",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.reply, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": self.usage(),
        }

    def embedding(self, model: str, inputs: Any) -> dict:
        count = len(inputs) if isinstance(inputs, list) else 1
        return {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(count)],
            "model": model,
            "usage": {"prompt_tokens": self.prompt_tokens, "total_tokens": self.prompt_tokens},
        }

    def response(self, model: str) -> dict:
        return {
            "id": "resp_fake_1",
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "model": model,
            "output": [
                {
                    "type": "message",
                    "id": "msg_fake_1",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": self.reply, "annotations": []}],
                }
            ],
            "usage": {
                "input_tokens": self.prompt_tokens,
                "output_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }

    def _stream_chat(self, handler: BaseHTTPRequestHandler, model: str) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        words = self.reply.split(" ")
        base = {
            "id": "chatcmpl-fake-2",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
        for i, word in enumerate(words):
            text = word if i == 0 else " " + word
            chunks.append(
                {**base, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
            )
        chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        chunks.append({**base, "choices": [], "usage": self.usage()})
        for chunk in chunks:
            handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        handler.wfile.write(b"data: [DONE]\n\n")
        handler.wfile.flush()

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, payload: dict, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _error(self, handler: BaseHTTPRequestHandler, status: int, message: str, code: str) -> None:
        self._json(
            handler,
            {"error": {"message": message, "type": "invalid_request_error", "code": code}},
            status=status,
        )
