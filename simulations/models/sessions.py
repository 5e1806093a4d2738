"""Practice sessions and their turns."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PracticeSession(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "In progress"
        ENDED = "ended", "Ended"

    trainee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_sessions")
    scenario_version = models.ForeignKey("simulations.ScenarioVersion", on_delete=models.PROTECT, related_name="sessions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    style = models.CharField(max_length=20, blank=True, help_text="Conversational style chosen for this session.")
    exam = models.BooleanField(default=False)
    live_feedback = models.BooleanField(default=True)
    seed = models.PositiveIntegerField(default=0, help_text="Makes the scripted partner deterministic.")
    persona_state = models.JSONField(default=dict)
    engine = models.CharField(max_length=80, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Exams: scores, feedback and the persona's hidden model stay sealed until an instructor releases them.
    results_released_at = models.DateTimeField(null=True, blank=True)
    results_released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set while a reply is being generated, so a reconnect can complete it (or regenerate it).
    generating_for_turn = models.ForeignKey("Turn", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["trainee", "status"])]

    def __str__(self) -> str:
        return f"session {self.pk} ({self.trainee_id})"


class Turn(models.Model):
    class Speaker(models.TextChoices):
        TRAINEE = "trainee", "Trainee"
        PERSONA = "persona", "Persona"

    class Source(models.TextChoices):
        TEXT = "text", "Text"
        VOICE = "voice", "Voice"
        OPENING = "opening", "Opening line"

    session = models.ForeignKey(PracticeSession, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    speaker = models.CharField(max_length=10, choices=Speaker.choices)
    text = models.TextField()
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.TEXT)
    client_id = models.CharField(max_length=64, blank=True, help_text="Browser's id for the message: a resend is stored once.")
    reply_to = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies")
    state_after = models.JSONField(default=dict, blank=True, help_text="Persona state after this turn (instructors only).")
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "index"]
        constraints = [
            models.UniqueConstraint(fields=["session", "index"], name="unique_turn_index"),
            models.UniqueConstraint(
                fields=["session", "client_id"], condition=~models.Q(client_id=""), name="unique_turn_client_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.index} {self.speaker}"


class VoiceClip(models.Model):
    """An uploaded recording of one trainee turn, transcribed on the speech queue."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    session = models.ForeignKey(PracticeSession, on_delete=models.CASCADE, related_name="voice_clips")
    audio = models.FileField(upload_to="voice/%Y/%m/")
    mime_type = models.CharField(max_length=100)
    size_bytes = models.PositiveIntegerField()
    client_id = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.TextField(blank=True)
    transcript = models.TextField(blank=True)
    asr_backend = models.CharField(max_length=80, blank=True)
    low_accuracy = models.BooleanField(default=False)
    duration_s = models.FloatField(null=True, blank=True)
    # The audio is deleted after VOICE_CLIP_RETENTION_DAYS or when voice consent is withdrawn; the transcript stays.
    audio_deleted_at = models.DateTimeField(null=True, blank=True)
    turn = models.OneToOneField(Turn, on_delete=models.SET_NULL, null=True, blank=True, related_name="voice_clip")
    created_at = models.DateTimeField(auto_now_add=True)
    # Pending: when the sweep re-enqueues it if nothing claimed it (a lost message); processing: renewed
    # while its worker transcribes, so a lapsed one belongs to a killed worker (simulations/services/voice.py).
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "client_id"], name="unique_voice_client_id")]

    def __str__(self) -> str:
        return f"voice clip {self.pk} ({self.status})"
