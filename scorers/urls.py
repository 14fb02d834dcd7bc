from __future__ import annotations

from django.urls import path

from scorers import views

app_name = "scorers"
urlpatterns = [
    path("", views.scorer_list, name="list"),
    path("new/", views.scorer_create, name="create"),
    path("<int:pk>/", views.scorer_detail, name="detail"),
    path("<int:pk>/history/", views.scorer_history, name="history"),
    path("<int:pk>/archive/", views.scorer_archive, name="archive"),
]
