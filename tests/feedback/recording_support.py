"""A finished recording made directly in the database (no pipeline), for access and service tests."""

from __future__ import annotations

import wave
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils import timezone

from feedback.models import Recording, RecordingItem, RecordingSegment, RecordingSpeaker, RecordingStage
from feedback.models.recordings import STAGES
from feedback.services.recording_pipeline import recording_dir


def wav_write(*, path: Path, seconds: float = 2.0, freq: float = 220.0) -> Path:
    t = np.arange(int(16000 * seconds)) / 16000
    data = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(data.tobytes())
    return path


def recording_make(*, cohort, uploader, framework_slug: str = "", title: str = "Ward round") -> Recording:
    now = timezone.now()
    recording = Recording.objects.create(
        title=title, cohort=cohort, uploaded_by=uploader, consent_statement="All agreed.", consent_by=uploader, consent_at=now,
        retention_until=now + timedelta(days=30), status=Recording.Status.DONE, duration_s=4.0, framework_slug=framework_slug,
    )
    directory = recording_dir(recording_id=recording.pk)
    directory.mkdir(parents=True, exist_ok=True)
    wav_write(path=directory / "source.wav", seconds=4.0)
    recording.audio_path = str((directory / "source.wav").relative_to(settings.MEDIA_ROOT))
    recording.save(update_fields=["audio_path"])
    RecordingStage.objects.bulk_create([
        RecordingStage(recording=recording, name=n, position=i, status=RecordingStage.Status.DONE, progress=1.0) for i, n in enumerate(STAGES)
    ])
    a = RecordingSpeaker.objects.create(recording=recording, label="SPEAKER_00", name="Speaker 1", role="trainer", position=0)
    b = RecordingSpeaker.objects.create(recording=recording, label="SPEAKER_01", name="Speaker 2", role="trainee", position=1)
    s1 = RecordingSegment.objects.create(recording=recording, position=0, start=0.2, end=1.6, speaker=a, text="Keep the needle vertical.",
                                         words=[[0.2, 0.5, "Keep", 0.9], [0.5, 0.7, "the", 0.9], [0.7, 1.1, "needle", 0.9], [1.1, 1.6, "vertical.", 0.9]])
    RecordingSegment.objects.create(recording=recording, position=1, start=1.8, end=2.6, speaker=b, text="Okay, got it.",
                                    words=[[1.8, 2.1, "Okay,", 0.9], [2.1, 2.3, "got", 0.9], [2.3, 2.6, "it.", 0.9]])
    RecordingSegment.objects.create(recording=recording, position=2, start=3.0, end=3.9, speaker=None, text="Thanks for watching!",
                                    words=[[3.0, 3.9, "Thanks for watching!", 0.2]], removed=True, removal_reason="known hallucination phrase")
    RecordingItem.objects.create(recording=recording, segment=s1, framework_slug=framework_slug or "teaching-feedback", skill="is-feedback",
                                 label="yes", confidence=0.8, suggestion="Feedback to the trainee.")
    return recording
