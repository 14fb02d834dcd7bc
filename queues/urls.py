"""Queue pages under /p/<slug>/queues/ (SPEC §9: the list and /<queue-id>/ are fixed)."""

from __future__ import annotations

from django.urls import path

from queues import views

app_name = "queues"
urlpatterns = [
    path("", views.queue_list, name="list"),
    path("add/", views.add_trace, name="add"),
    path("bulk-add/", views.bulk_add, name="bulk_add"),
    path("<int:queue_id>/", views.queue_detail, name="detail"),
    path("<int:queue_id>/delete/", views.queue_delete, name="delete"),
    path("<int:queue_id>/start/", views.queue_start, name="start"),
    path("<int:queue_id>/next/", views.queue_next, name="next"),
    path("<int:queue_id>/prev/", views.queue_prev, name="prev"),
    path("<int:queue_id>/done/", views.queue_done, name="done"),
    path("<int:queue_id>/items/<int:item_id>/", views.item_open, name="open"),
    path("<int:queue_id>/items/<int:item_id>/remove/", views.item_remove, name="remove"),
]
