"""Django admin for queues and their items (SPEC §6): deleted queues behind a filter."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, QuerySet

from queues.models import QueueItem, ReviewQueue


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Active"), ("yes", "Deleted")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class PendingFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("pending", "Pending"), ("closed", "Closed")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "pending":
            return queryset.filter(closed_at__isnull=True)
        if self.value() == "closed":
            return queryset.filter(closed_at__isnull=False)
        return queryset


@admin.register(ReviewQueue)
class ReviewQueueAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "pending", "created_by", "created_at", "deleted_at"]
    list_filter = [DeletedFilter, "project"]
    search_fields = ["name", "description", "project__slug"]
    raw_id_fields = ["created_by"]
    list_select_related = ["project", "created_by"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_pending=Count("items", filter=Q(items__closed_at__isnull=True)))
        )

    @admin.display(ordering="_pending")
    def pending(self, obj: ReviewQueue) -> int:
        return obj._pending


@admin.register(QueueItem)
class QueueItemAdmin(admin.ModelAdmin):
    list_display = [
        "trace",
        "queue",
        "added_by",
        "added_at",
        "claimed_by",
        "claim_expires_at",
        "closed_at",
        "close_reason",
    ]
    list_filter = [PendingFilter, "close_reason", "queue__project"]
    search_fields = ["trace__trace_id", "trace__name", "queue__name"]
    raw_id_fields = ["trace", "queue", "added_by", "claimed_by", "closed_by"]
    list_select_related = ["trace", "queue", "added_by", "claimed_by"]
    date_hierarchy = "added_at"
