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


class Consent(models.Model):
    """A person's agreement to one use of their data, kept with its wording; revocable."""

    class Kind(models.TextChoices):
        VOICE_TURNS = "voice_turns", "Voice turns"
        VOICE_ENROLMENT = "voice_enrolment", "Voice enrolment"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    statement = models.TextField(help_text="The exact words the person agreed to.")
    given_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "kind", "-given_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], condition=models.Q(revoked_at__isnull=True),
                                    name="one_active_consent_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.user_id}{' (revoked)' if self.revoked_at else ''}"


class RetentionPurge(models.Model):
    """One run of the periodic purge of expired audio (shown on the health page)."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    purged = models.JSONField(default=dict, help_text="What was deleted, by kind: {kind: count}.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"retention purge {self.started_at:%Y-%m-%d %H:%M}"
