"""Django admin for traces: read-only (trace content is never edited, SPEC §2), deletable by
superusers so that data can be purged."""

from __future__ import annotations

from django.contrib import admin

from traces.models import Observation, Trace


class ReadOnlyAdmin(admin.ModelAdmin):
    # Tables with millions of rows: no exact COUNT(*) on every changelist page.
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ObservationInline(admin.TabularInline):
    model = Observation
    fields = [
        "span_id",
        "parent_id",
        "kind",
        "type_label",
        "name",
        "model",
        "latency",
        "total_cost",
        "is_error",
    ]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ["started_at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).light()


@admin.register(Trace)
class TraceAdmin(ReadOnlyAdmin):
    list_display = [
        "trace_id",
        "name",
        "project",
        "started_at",
        "latency",
        "input_tokens",
        "output_tokens",
        "total_cost",
        "has_error",
        "observation_count",
    ]
    list_filter = ["project", "has_error", ("started_at", admin.DateFieldListFilter)]
    search_fields = ["=trace_id", "name", "session_id", "distinct_id"]
    list_select_related = ["project"]
    inlines = [ObservationInline]


@admin.register(Observation)
class ObservationAdmin(ReadOnlyAdmin):
    list_display = [
        "span_id",
        "name",
        "kind",
        "model",
        "trace",
        "started_at",
        "latency",
        "total_cost",
        "is_error",
    ]
    list_filter = ["kind", "is_error", "source", "trace__project"]
    search_fields = ["=span_id", "=trace__trace_id", "name", "model"]
    list_select_related = ["trace"]
    raw_id_fields = ["trace"]
