"""Ingestion endpoints (SPEC §2.1, §9). No login, no CSRF: they authenticate by ingestion key.

Each path also matches with or without its trailing slash: SDKs and hand-written clients differ,
and Django's APPEND_SLASH cannot redirect a POST without losing its body.
"""

from django.urls import re_path

from traces.ingest import otlp_views, views


def endpoint(path: str, view, name: str):
    return re_path(rf"^{path.rstrip('/')}/?$", view, name=name)


urlpatterns = [
    endpoint("batch/", views.posthog_batch, "ingest-batch"),
    endpoint("i/v0/ai/batch/", views.posthog_batch, "ingest-ai-batch"),
    endpoint("i/v0/e/", views.posthog_capture, "ingest-event"),
    endpoint("capture/", views.posthog_capture, "ingest-capture"),
    # The posthog SDK's opt-in capture v1 protocol (capture_mode="v1").
    endpoint("i/v1/analytics/events", views.posthog_capture_v1, "ingest-v1-events"),
    endpoint("v1/traces", otlp_views.otlp_traces, "ingest-otlp"),
    endpoint("api/public/otel/v1/traces", otlp_views.langfuse_otel_traces, "ingest-langfuse-otel"),
]
