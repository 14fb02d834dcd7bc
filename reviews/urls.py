"""Mounted at /p/<slug>/reviews/. The action comes before the trace id: a trace id may contain "/"."""

from __future__ import annotations

from django.urls import path

from reviews import views

app_name = "reviews"
urlpatterns = [
    path("", views.review_list, name="list"),
    path("export.<str:fmt>", views.review_export, name="export"),
    path("trace/<path:trace_id>/", views.review_panel, name="panel"),
    path("delete/<path:trace_id>/", views.review_delete, name="delete"),
]
