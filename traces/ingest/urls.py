"""Ingestion endpoints (SPEC §2.1, §9). No login, no CSRF: they authenticate by ingestion key."""

from django.urls import path

from traces.ingest import otlp_views, views

urlpatterns = [
    path("batch/", views.posthog_batch, name="ingest-batch"),
    path("i/v0/ai/batch/", views.posthog_batch, name="ingest-ai-batch"),
    path("i/v0/e/", views.posthog_capture, name="ingest-event"),
    path("capture/", views.posthog_capture, name="ingest-capture"),
    # The posthog SDK's opt-in capture v1 protocol (capture_mode="v1").
    path("i/v1/analytics/events", views.posthog_capture_v1, name="ingest-v1-events"),
    path("v1/traces", otlp_views.otlp_traces, name="ingest-otlp"),
    path("api/public/otel/v1/traces", otlp_views.langfuse_otel_traces, name="ingest-langfuse-otel"),
]
