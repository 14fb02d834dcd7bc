"""Reading ingestion request bodies safely: size limits, gzip/deflate, no decompression bombs.

Every ingestion endpoint (PostHog, OTLP, Langfuse) reads its body through `read_body`, and
authenticates through `key_from_request`.
"""

from __future__ import annotations

import base64
import zlib

from django.http import HttpRequest, JsonResponse

MB = 1024 * 1024
BATCH_LIMIT = 20 * MB  # SPEC §8
EVENT_LIMIT = 2 * MB
DECOMPRESSION_FACTOR = 5  # decompressed size may be at most 5× the limit


class BodyError(Exception):
    """A body that cannot be read; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status

    def response(self) -> JsonResponse:
        return JsonResponse({"error": self.message}, status=self.status)


def read_body(request: HttpRequest, limit: int) -> bytes:
    """The request body, decompressed, or BodyError (413 when over the limit, 400 when corrupt).

    Gzip is recognised by `Content-Encoding: gzip` or by its magic bytes; deflate by its header.
    The compressed body may be at most `limit`; the decompressed body at most 5 × `limit`.
    """
    declared = request.META.get("CONTENT_LENGTH")
    try:
        if declared and int(declared) > limit:
            raise BodyError(f"request body is larger than the {limit // MB} MB limit", 413)
    except ValueError:
        raise BodyError("Content-Length is not a number") from None
    stream = request  # HttpRequest is file-like; read one byte past the limit to detect overflow
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise BodyError(f"request body is larger than the {limit // MB} MB limit", 413)
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding == "gzip" or raw[:2] == b"\x1f\x8b":
        return _inflate(raw, limit * DECOMPRESSION_FACTOR, wbits=16 + zlib.MAX_WBITS, name="gzip")
    if encoding == "deflate":
        # RFC 9110 "deflate" is zlib-wrapped, but some clients send raw deflate; accept both.
        wbits = zlib.MAX_WBITS if raw[:1] == b"\x78" else -zlib.MAX_WBITS
        return _inflate(raw, limit * DECOMPRESSION_FACTOR, wbits=wbits, name="deflate")
    if encoding not in ("", "identity"):
        raise BodyError(f"Content-Encoding {encoding!r} is not supported (use gzip, deflate or none)", 415)
    return raw


def _inflate(raw: bytes, max_size: int, *, wbits: int, name: str) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    try:
        out = decompressor.decompress(raw, max_size + 1)
    except zlib.error as exc:
        raise BodyError(f"body is not valid {name} data: {exc}") from None
    if len(out) > max_size or decompressor.unconsumed_tail:
        raise BodyError(f"decompressed body is larger than the {max_size // MB} MB limit", 413)
    if not decompressor.eof:
        raise BodyError(f"{name} body is truncated")
    return out


def bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def unauthorized(message: str = "missing or unknown ingestion key") -> JsonResponse:
    return JsonResponse({"error": message}, status=401)


__all__ = ["BodyError", "read_body", "bearer_token", "basic_credentials", "unauthorized"]
