from django.contrib import admin

from feedback.models import Exemplar, Framework


class ExemplarInline(admin.TabularInline):
    model = Exemplar
    fields = ("position", "skill", "label", "utterance", "source")
    extra = 0


@admin.register(Framework)
class FrameworkAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "updated_at")
    list_filter = ("kind",)
    search_fields = ("name", "slug")
    inlines = [ExemplarInline]


@admin.register(Exemplar)
class ExemplarAdmin(admin.ModelAdmin):
    list_display = ("framework", "skill", "label", "source", "utterance")
    list_filter = ("framework", "source", "label")
    search_fields = ("utterance", "feedback")
