from django.contrib import admin

from simulations.models import Persona, Scenario, ScenarioVersion


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "updated_at")
    list_filter = ("kind",)
    search_fields = ("name", "slug")


class ScenarioVersionInline(admin.TabularInline):
    model = ScenarioVersion
    fields = ("number", "created_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "persona", "current_version", "is_archived")
    list_filter = ("is_archived",)
    search_fields = ("title", "slug")
    filter_horizontal = ("cohorts",)
    readonly_fields = ("current_version",)  # versions are made by the authoring services, never by hand
    inlines = [ScenarioVersionInline]


@admin.register(ScenarioVersion)
class ScenarioVersionAdmin(admin.ModelAdmin):
    """Read-only: a version is history; sessions point at it."""

    list_display = ("scenario", "number", "created_by", "created_at")
    list_filter = ("scenario",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
