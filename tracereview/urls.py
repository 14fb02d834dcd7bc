"""URL map. Page and ingestion paths are fixed interfaces (SPEC §9): keep them stable."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from projects import views as project_views

urlpatterns = [
    path("", project_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("p/<slug:slug>/traces/", include("traces.urls")),
    path("p/<slug:slug>/scorers/", include("scorers.urls")),
    path("p/<slug:slug>/reviews/", include("reviews.urls")),
    path("p/<slug:slug>/queues/", include("queues.urls")),
    path("", include("traces.ingest.urls")),
]
