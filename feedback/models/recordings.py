"""Uploaded recordings of real conversations and everything the pipeline makes of them.

A Recording owns its audio file (under MEDIA_ROOT/recordings/<id>/), one
RecordingStage row per pipeline stage (status, result, lease), the diarized
speakers, the transcript segments (removed ones kept with their reason), the
analysis items with their reviews, and a history of events (uploaded,
stage failed, retention purge...)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

STAGES = ("decode", "vad", "diarize", "asr", "clean", "roles", "analysis")
# Stages that run on the speech queue; the rest on the analysis queue.
SPEECH_STAGES = frozenset({"decode", "vad", "diarize", "asr", "clean", "roles"})
# The stages each stage reads. Diarization and ASR both read only the VAD regions, so they run side by
# side (two speech-worker threads or processes) and cleaning joins them; on two cores the pair takes
# about as long as the longer of the two instead of their sum.
STAGE_NEEDS: dict[str, tuple[str, ...]] = {
    "decode": (), "vad": ("decode",), "diarize": ("vad",), "asr": ("vad",),
    "clean": ("diarize", "asr"), "roles": ("clean",), "analysis": ("roles",),
}


class Recording(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    title = models.CharField(max_length=200)
    cohort = models.ForeignKey("trainer_app.Cohort", on_delete=models.PROTECT, null=True, blank=True, related_name="recordings")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The stored file, relative to MEDIA_ROOT; empty once the retention period purged it.
    audio_path = models.CharField(max_length=300, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    mime = models.CharField(max_length=100, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    duration_s = models.FloatField(default=0.0)
    container = models.CharField(max_length=60, blank=True)
    codec = models.CharField(max_length=60, blank=True)
    framework_slug = models.SlugField(max_length=80, blank=True, help_text="Framework the analysis applies (optional).")
    rubric_role = models.CharField(max_length=40, default="trainee", help_text="Whose utterances a skill rubric rates.")
    num_speakers = models.PositiveSmallIntegerField(null=True, blank=True)
    consent_statement = models.TextField()
    consent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    consent_at = models.DateTimeField()
    retention_until = models.DateTimeField()
    audio_deleted_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    pipeline_started_at = models.DateTimeField(null=True, blank=True)
    pipeline_finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["retention_until"]), models.Index(fields=["status"])]

    def __str__(self) -> str:
        return self.title


class RecordingParticipant(models.Model):
    """A person expected in the recording, with the role they play (trainer, trainee or any named role)."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=40)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recording", "user"], name="unique_recording_participant")]

    def __str__(self) -> str:
        return f"{self.role}: user {self.user_id}"


class RecordingStage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=20)
    position = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The stage's output (and, for split stages, how far it got): resuming reads it.
    result = models.JSONField(default=dict, blank=True)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A running stage whose lease lapsed was abandoned.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(default=0.0, help_text="Engine time summed over every part of the stage.")

    class Meta:
        ordering = ["recording", "position"]
        constraints = [models.UniqueConstraint(fields=["recording", "name"], name="unique_recording_stage")]

    def __str__(self) -> str:
        return f"{self.name}={self.status} (recording {self.recording_id})"


class RecordingSpeaker(models.Model):
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="speakers")
    label = models.CharField(max_length=40, help_text="Diarization label (SPEAKER_00, ...).")
    name = models.CharField(max_length=120, blank=True)
    role = models.CharField(max_length=40, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    similarity = models.FloatField(null=True, blank=True)
    confidence = models.CharField(max_length=10, blank=True)
    named_by_instructor = models.BooleanField(default=False)
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["recording", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["recording", "label"], name="unique_recording_speaker_label")]

    def __str__(self) -> str:
        return self.name or self.label


class RecordingSegment(models.Model):
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="segments")
    position = models.PositiveIntegerField()
    start = models.FloatField()
    end = models.FloatField()
    speaker = models.ForeignKey(RecordingSpeaker, on_delete=models.SET_NULL, null=True, blank=True, related_name="segments")
    speaker_set_by_instructor = models.BooleanField(default=False)
    text = models.TextField()
    words = models.JSONField(default=list, blank=True, help_text="[[start, end, text, probability], ...] in seconds.")
    avg_logprob = models.FloatField(null=True, blank=True)
    no_speech_prob = models.FloatField(null=True, blank=True)
    compression_ratio = models.FloatField(null=True, blank=True)
    removed = models.BooleanField(default=False)
    removal_reason = models.CharField(max_length=200, blank=True)
    restored_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["recording", "position"]
        constraints = [models.UniqueConstraint(fields=["recording", "position"], name="unique_recording_segment_position")]

    def __str__(self) -> str:
        return f"[{self.start:.1f}-{self.end:.1f}] {self.text[:40]}"


class RecordingItem(models.Model):
    """One analysis finding on one segment (same shape as an AssessmentItem)."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="items")
    segment = models.ForeignKey(RecordingSegment, on_delete=models.CASCADE, related_name="items")
    framework_slug = models.SlugField(max_length=80)
    skill = models.CharField(max_length=80)
    label = models.CharField(max_length=80)
    confidence = models.FloatField(default=0.0)
    evidence = models.TextField(blank=True)
    suggestion = models.TextField(blank=True)
    context = models.JSONField(default=list, blank=True, help_text="The context the engine saw (pack format).")

    class Meta:
        ordering = ["segment__position", "id"]
        constraints = [models.UniqueConstraint(fields=["segment", "framework_slug", "skill"], name="unique_recording_item")]

    def __str__(self) -> str:
        return f"{self.skill}={self.label}"


class RecordingItemReview(models.Model):
    item = models.ForeignKey(RecordingItem, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    verdict = models.CharField(max_length=10)
    corrected_label = models.CharField(max_length=80, blank=True)
    corrected_text = models.TextField(blank=True)
    exemplar = models.ForeignKey("feedback.Exemplar", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.verdict} on recording item {self.item_id}"


class RecordingEvent(models.Model):
    """The recording's history (uploaded, consent, stages, corrections, retention purge)."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=40)
    message = models.TextField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["recording", "at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message[:60]}"
