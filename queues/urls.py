from __future__ import annotations

app_name = "queues"
urlpatterns: list = []
