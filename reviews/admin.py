"""Django admin for reviews (with a deleted filter), their scores, and read-only revisions.

Reviews and scores are written by `reviews.services` only (which keeps revisions, option rows and
queue items in step), so the admin shows all three read-only: an edit here would bypass the
revision history, and a hard delete would erase it (deleting a whole project still cascades).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from reviews.models import Review, ReviewRevision, ReviewScore, ReviewScoreOption


class DeletedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("deleted", "Deleted")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "active":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReviewScoreInline(ReadOnlyMixin, admin.TabularInline):
    model = ReviewScore
    fields = ["scorer", "version_number", "kind", "display", "config"]
    readonly_fields = fields
    extra = 0

    @admin.display(description="value")
    def display(self, score: ReviewScore) -> str:
        return score.display


class ReviewRevisionInline(ReadOnlyMixin, admin.TabularInline):
    model = ReviewRevision
    fields = ["number", "action", "by", "at", "reasoning", "scores"]
    readonly_fields = fields
    extra = 0
    ordering = ["-number"]
    show_change_link = True


@admin.register(Review)
class ReviewAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["trace", "project", "reviewed_by", "updated_at", "created_at", "deleted_at", "revision"]
    list_filter = [DeletedFilter, "project", "reviewed_by"]
    search_fields = ["trace__trace_id", "trace__name", "reasoning", "reviewed_by__username"]
    list_select_related = ["trace", "project", "reviewed_by"]
    date_hierarchy = "updated_at"
    fields = [
        "project",
        "trace",
        "reasoning",
        "created_by",
        "created_at",
        "reviewed_by",
        "updated_at",
        "deleted_by",
        "deleted_at",
        "revision",
    ]
    readonly_fields = fields
    inlines = [ReviewScoreInline, ReviewRevisionInline]


@admin.register(ReviewScore)
class ReviewScoreAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["review", "scorer", "version_number", "kind", "display"]
    list_filter = ["kind", "review__project", "scorer"]
    search_fields = ["review__trace__trace_id", "scorer__name"]
    list_select_related = ["review__trace", "scorer"]

    @admin.display(description="value")
    def display(self, score: ReviewScore) -> str:
        return score.display


@admin.register(ReviewScoreOption)
class ReviewScoreOptionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The index rows behind option filters, derived from the scores; shown for inspection only."""

    list_display = ["score", "scorer", "key"]
    list_filter = ["scorer"]
    search_fields = ["key", "score__review__trace__trace_id"]
    list_select_related = ["score__review__trace", "scorer"]


@admin.register(ReviewRevision)
class ReviewRevisionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["trace", "number", "action", "by", "at"]
    list_filter = ["action", "review__project"]
    search_fields = ["trace__trace_id", "reasoning", "by__username"]
    list_select_related = ["trace", "by"]
    readonly_fields = ["review", "trace", "number", "action", "by", "at", "reasoning", "scores"]
