"""Core models: cohorts (who an instructor follows) and the worker heartbeat."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Cohort(models.Model):
    """A group of trainees followed by the instructor who owns it."""

    name = models.CharField(max_length=120, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cohorts_owned"
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="cohorts", blank=True)
    exam_choice = models.BooleanField(
        default=False, help_text="Trainees may take their assigned scenarios as exams (sealed until results are released)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkerHeartbeat(models.Model):
    """Last time each Celery worker said it was alive (read by /healthz)."""

    hostname = models.CharField(max_length=255, unique=True)
    queues = models.CharField(max_length=255, blank=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.last_seen:%H:%M:%S}"
