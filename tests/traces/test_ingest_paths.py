"""Ingestion paths answer with and without their trailing slash (a POST cannot be redirected)."""

from __future__ import annotations

import json

import pytest

from projects.models import IngestionKey

pytestmark = pytest.mark.django_db

PATHS = ["/batch", "/batch/", "/i/v0/ai/batch", "/i/v0/e", "/capture", "/capture/", "/v1/traces/"]


@pytest.mark.parametrize("path", PATHS)
def test_endpoint_answers_with_or_without_trailing_slash(client, project, path):
    _, raw = IngestionKey.issue(project=project)
    if "traces" in path:
        body = {"resourceSpans": []}
        response = client.post(
            path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
        )
    elif "batch" in path:
        body = {"api_key": raw, "batch": [{"event": "$ai_span", "properties": {"$ai_trace_id": "t-slash"}}]}
        response = client.post(path, json.dumps(body), content_type="application/json")
    else:
        body = {"api_key": raw, "event": "$ai_span", "properties": {"$ai_trace_id": "t-slash"}}
        response = client.post(path, json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
