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


class VoiceEnrolment(models.Model):
    """A person's voice print (speaker embedding), used to tell who is speaking in a recording.

    The uploaded clip is kept only while the embedding is computed, and after that only when the
    person ticked "keep my recording" (`keep_audio`). `consent_at` records when they (or an admin on
    their behalf) agreed that a voice print is computed from it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voice_enrolments")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.TextField(blank=True)
    # float32 little-endian bytes, L2-normalised; comparable only with embeddings of the same model_name
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    model_name = models.CharField(max_length=80, blank=True)
    duration_s = models.FloatField(null=True, blank=True)  # the whole clip
    speech_s = models.FloatField(null=True, blank=True)  # speech found in it
    audio = models.FileField(upload_to="voice-enrolment/%Y/%m/", blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    keep_audio = models.BooleanField(default=False)
    consent_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "status", "model_name"], name="voice_enrol_user_status")]

    def __str__(self) -> str:
        return f"voice enrolment {self.pk} of user {self.user_id} ({self.status})"
