"""OTLP/HTTP trace endpoints (SPEC §2.1 item 2): `/v1/traces` and the Langfuse SDK's path.

Both accept `application/x-protobuf` and `application/json` bodies (gzip or deflate) and answer
in the request's encoding with an `ExportTraceServiceResponse`, whose `partial_success` counts
and explains the spans that could not be stored. Errors (401, 400, 413, 415) are JSON, as for
every ingestion endpoint.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from projects.models import IngestionKey
from traces.ingest.http import (
    BATCH_LIMIT,
    BodyError,
    basic_credentials,
    bearer_token,
    read_body,
    unauthorized,
)
from traces.ingest.normalise import JsonError, loads_json, store_observations
from traces.ingest.otlp import OtlpError, export_response, parse_otlp_json, parse_otlp_protobuf

logger = logging.getLogger(__name__)

PROTOBUF_TYPES = {"application/x-protobuf", "application/protobuf"}
JSON_TYPES = {"application/json"}


def _key_from_request(request: HttpRequest) -> IngestionKey | None:
    """Bearer, `x-api-key`, or Basic (Langfuse public key : the ingestion key as secret)."""
    credentials = basic_credentials(request)
    if credentials is not None:
        return IngestionKey.authenticate_pair(*credentials)
    return IngestionKey.authenticate(bearer_token(request) or request.headers.get("x-api-key"))


def _export(request: HttpRequest, key: IngestionKey | None) -> HttpResponse:
    if key is None:
        return unauthorized()
    content_type = request.content_type.lower() if request.content_type else ""
    if content_type not in PROTOBUF_TYPES | JSON_TYPES:
        return JsonResponse(
            {
                "error": f"Content-Type {content_type or '(none)'!r} is not supported: "
                "send application/x-protobuf or application/json"
            },
            status=415,
        )
    as_json = content_type in JSON_TYPES
    try:
        body = read_body(request, BATCH_LIMIT)
        if as_json:
            try:
                doc = loads_json(body)
            except JsonError as exc:
                raise OtlpError(f"body is {exc}") from None
            items, rejected = parse_otlp_json(doc)
        else:
            items, rejected = parse_otlp_protobuf(body)
    except BodyError as exc:
        return exc.response()
    except OtlpError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    except RecursionError:
        # Spans are mapped one by one (a deep span is refused alone); this is the structure
        # around them (resource attributes, for instance).
        return JsonResponse({"error": "body is nested too deeply"}, status=400)
    try:
        store_observations(key.project, items)
    except DatabaseError:
        # Every span is validated for every column first, so this is an outage, not bad data.
        logger.exception("storing an OTLP export failed")
        return JsonResponse(
            {"error": "the export could not be stored; nothing was written, retry later"}, status=503
        )
    payload, response_type = export_response(rejected, as_json=as_json)
    return HttpResponse(payload, content_type=response_type)


@csrf_exempt
@require_POST
def otlp_traces(request: HttpRequest) -> HttpResponse:
    """`POST /v1/traces`: key as `Authorization: Bearer KEY` or `x-api-key: KEY`."""
    return _export(request, _key_from_request(request))


@csrf_exempt
@require_POST
def langfuse_otel_traces(request: HttpRequest) -> HttpResponse:
    """`POST /api/public/otel/v1/traces`: the Langfuse SDK's exporter, HTTP Basic public:secret."""
    return _export(request, _key_from_request(request))
