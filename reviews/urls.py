from __future__ import annotations

app_name = "reviews"
urlpatterns: list = []
