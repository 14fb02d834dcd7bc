from __future__ import annotations

from django.contrib import admin, messages

from projects.models import IngestionKey, Membership, Project


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at", "last_visited_at"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at", "last_visited_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "user__email", "project__name", "project__slug"]
    autocomplete_fields = ["user", "project"]


@admin.register(IngestionKey)
class IngestionKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "project", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["project", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "project__slug"]
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    fields = ["project", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_keys"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = IngestionKey.issue(project=obj.project, name=obj.name, created_by=request.user)
        obj.pk = key.pk
        obj.__dict__.update(key.__dict__)
        self.message_user(
            request, f"New ingestion key (shown only once, copy it now): {raw}", level=messages.WARNING
        )

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request, queryset):
        for key in queryset.active():
            key.revoke()
