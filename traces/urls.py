from django.urls import path

from traces import views

app_name = "traces"
urlpatterns = [
    path("", views.trace_list, name="list"),
    # <path:> because trace ids may contain characters a <str:> segment refuses (SPEC §9).
    path("<path:trace_id>/", views.trace_detail, name="detail"),
]
