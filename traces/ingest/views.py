"""PostHog-compatible ingestion endpoints (SPEC §2.1 item 1, §8).

`/batch/` and `/i/v0/ai/batch/` take a batch body (20 MB); `/i/v0/e/` and `/capture/` take one
event or a list (2 MB). The key comes from the body (`api_key` or `token`) or from
`Authorization: Bearer`. Answers:
- 200 `{"status": 1, "accepted": n, "ignored": n, "rejected": [{"index": i, "reason": "..."}]}`:
  valid events are stored (one `store_observations` call), bad ones reported by index, non-AI
  events counted as ignored;
- 400 for a body that is not JSON or not an event/batch, and for a single event that is rejected;
- 401 for a missing, unknown or revoked key; 413 for a body (or its decompressed form) over the
  limit. Every error is JSON with `error` (and `detail`, which the PostHog SDK logs).

`/i/v1/analytics/events` speaks the SDK's newer, opt-in capture v1 protocol (see its view).
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any
from urllib.parse import parse_qs

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from projects.models import IngestionKey
from traces.ingest import posthog
from traces.ingest.http import BATCH_LIMIT, EVENT_LIMIT, BodyError, bearer_token, read_body
from traces.ingest.normalise import JsonError, loads_json, store_observations

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def posthog_batch(request: HttpRequest) -> JsonResponse:
    return _ingest(request, limit=BATCH_LIMIT)


@csrf_exempt
@require_POST
def posthog_capture(request: HttpRequest) -> JsonResponse:
    return _ingest(request, limit=EVENT_LIMIT)


@csrf_exempt
@require_POST
def posthog_capture_v1(request: HttpRequest) -> JsonResponse:
    """`POST /i/v1/analytics/events`: the SDK's opt-in capture v1 protocol (`capture_mode="v1"`).

    Bearer key, body `{"created_at", "batch": [event, ...]}` with `$session_id` moved to the
    event's top level; the answer is per event: `{"results": {uuid: {"result": "ok"|"drop"}}}`.
    """
    # The key is a header here: checked before the body is read.
    key = IngestionKey.authenticate(bearer_token(request))
    if key is None:
        return _error("missing, unknown or revoked ingestion key (send it as a Bearer token)", 401)
    try:
        body = decode_json_body(request, read_body(request, BATCH_LIMIT))
    except BodyError as exc:
        return _error(exc.message, exc.status)
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        return _error("expected an object with a 'batch' list of events", 400)
    lib, _, version = request.headers.get("PostHog-Sdk-Info", "").partition("/")
    events = [_from_v1(event, lib=lib, version=version) for event in body["batch"]]
    parsed = posthog.parse_events(events)
    try:
        store_observations(key.project, parsed.items)
    except DatabaseError:
        # Validation makes bad data unable to reach the database: this is an outage.
        logger.exception("storing a PostHog v1 batch failed")
        return _error("the batch could not be stored; nothing was written, retry later", 503)
    results = {}
    for event in events:
        if isinstance(event, dict) and isinstance(event.get("uuid"), str):
            results[event["uuid"]] = {"result": "ok"}
    for index, reason in parsed.rejected:
        event = events[index]
        if isinstance(event, dict) and isinstance(event.get("uuid"), str):
            results[event["uuid"]] = {"result": "drop", "details": reason}
    return JsonResponse({"results": results})


def _from_v1(event: Any, *, lib: str, version: str) -> Any:
    # v1 lifts $session_id out of the properties and sends $lib as a header; put them back
    # where the v0 mapping reads them.
    if not isinstance(event, dict) or not isinstance(event.get("properties"), dict):
        return event
    extra = {"$lib": lib, "$lib_version": version} if lib else {}
    if event.get("session_id"):
        extra["$session_id"] = event["session_id"]
    return {**event, "properties": {**extra, **event["properties"]}} if extra else event


def _error(message: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"status": 0, "error": message, "detail": message, **extra}, status=status)


def _ingest(request: HttpRequest, *, limit: int) -> JsonResponse:
    try:
        body = decode_json_body(request, read_body(request, limit))
        events, key_in_body, single = posthog.events_from_body(body)
    except BodyError as exc:
        return _error(exc.message, exc.status)
    except posthog.BodyShapeError as exc:
        return _error(str(exc), 400)

    event_keys = [posthog.event_key(event) for event in events]
    # The request's key: the body's, else the header's, else the first one an event carries.
    raw_key = key_in_body or bearer_token(request) or next((k for k in event_keys if k), None)
    key = IngestionKey.authenticate(raw_key)
    if key is None:
        return _error("missing, unknown or revoked ingestion key (send it as api_key or a Bearer token)", 401)

    skip = {} if single else posthog.foreign_key_rejections(key, raw_key, event_keys)
    parsed = posthog.parse_events(events, skip=skip)
    rejected = [{"index": index, "reason": reason} for index, reason in parsed.rejected]
    if single and rejected:
        return _error(f"event rejected: {parsed.rejected[0][1]}", 400, rejected=rejected)
    try:
        store_observations(key.project, parsed.items)
    except DatabaseError:
        # Every record is validated for every column first (normalise.ObservationIn.validate),
        # so bad data cannot reach here: this is an outage. Nothing of the batch was written
        # (one transaction) and the client may retry.
        logger.exception("storing a PostHog batch failed")
        return _error("the batch could not be stored; nothing was written, retry later", 503)
    return JsonResponse(
        {"status": 1, "accepted": len(parsed.items), "ignored": parsed.ignored, "rejected": rejected}
    )


def decode_json_body(request: HttpRequest, raw: bytes) -> Any:
    """The JSON document in `raw`, or BodyError(400) saying why it is not one.

    Besides a JSON body, the form encoding of older PostHog clients is read: `data=<json>` or
    `data=<base64 json>`.
    """
    if request.content_type == "application/x-www-form-urlencoded" or raw[:5] == b"data=":
        raw = _form_data(raw)
    if not raw.strip():
        raise BodyError("the body is empty")
    try:
        return loads_json(raw)
    except JsonError as exc:
        raise BodyError(f"the body is {exc}") from None


def _form_data(raw: bytes) -> bytes:
    try:
        fields = parse_qs(raw.decode("utf-8", errors="replace"), max_num_fields=20)
    except ValueError:
        raise BodyError("the form body has too many fields") from None
    data = (fields.get("data") or [""])[0].strip()
    if not data:
        raise BodyError("the form body has no 'data' field")
    if data[:1] in "{[":
        return data.encode("utf-8")
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        raise BodyError("the form field 'data' is neither JSON nor base64") from None
