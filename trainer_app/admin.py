from django.contrib import admin

from trainer_app.models import Cohort, VoiceEnrolment, WorkerHeartbeat


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "created_at")
    filter_horizontal = ("members",)
    search_fields = ("name", "owner__username")


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("hostname", "queues", "last_seen")


@admin.register(VoiceEnrolment)
class VoiceEnrolmentAdmin(admin.ModelAdmin):
    """Read-only: clips are uploaded on the voice pages (consent is asked there); admins may delete."""

    list_display = ("user", "status", "speech_s", "keep_audio", "model_name", "created_by", "created_at")
    list_filter = ("status", "keep_audio")
    search_fields = ("user__username",)
    list_select_related = ("user", "created_by")
    exclude = ("embedding",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
