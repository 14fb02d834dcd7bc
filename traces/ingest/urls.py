"""Ingestion endpoints (SPEC §2.1, §9). No login, no CSRF: they authenticate by ingestion key."""

from django.urls import path

from traces.ingest import otlp_views, views

urlpatterns = [
    path("batch/", views.posthog_batch, name="ingest-batch"),
    path("i/v0/ai/batch/", views.posthog_batch, name="ingest-ai-batch"),
    path("i/v0/e/", views.posthog_capture, name="ingest-event"),
    path("capture/", views.posthog_capture, name="ingest-capture"),
    path("v1/traces", otlp_views.otlp_traces, name="ingest-otlp"),
    path("api/public/otel/v1/traces", otlp_views.langfuse_otel_traces, name="ingest-langfuse-otel"),
]
