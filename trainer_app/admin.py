from django.contrib import admin

from trainer_app.models import Cohort, WorkerHeartbeat


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "created_at")
    filter_horizontal = ("members",)
    search_fields = ("name", "owner__username")


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("hostname", "queues", "last_seen")
