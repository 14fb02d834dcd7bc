"""Django admin for scorers (metadata editable) and their versions (read-only, never deleted)."""

from __future__ import annotations

from django.contrib import admin

from scorers.models import Scorer, ScorerVersion


class ScorerVersionInline(admin.TabularInline):
    model = ScorerVersion
    fields = ["number", "config", "created_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-number"]
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Scorer)
class ScorerAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "kind", "current_version", "archived_at", "updated_at"]
    list_filter = ["kind", "project", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "description", "project__slug", "project__name"]
    list_select_related = ["project", "current_version"]
    # The config is edited in the app (which versions it); here only metadata changes in place.
    fields = [
        "project",
        "name",
        "description",
        "kind",
        "current_version",
        "archived_at",
        "created_by",
        "created_at",
    ]
    readonly_fields = ["project", "kind", "current_version", "created_by", "created_at"]
    inlines = [ScorerVersionInline]

    def has_add_permission(self, request) -> bool:
        # A scorer needs its version 1, which the app's service creates with validated config.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Scorers are archived, not deleted: reviews point at their versions.
        return False


@admin.register(ScorerVersion)
class ScorerVersionAdmin(admin.ModelAdmin):
    list_display = ["scorer", "number", "created_by", "created_at"]
    list_filter = ["scorer__kind", "scorer__project"]
    search_fields = ["scorer__name", "scorer__project__slug"]
    list_select_related = ["scorer", "created_by"]
    fields = ["scorer", "number", "config", "created_by", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # View-only: the admin shows versions but offers no save (the model refuses one anyway).
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
