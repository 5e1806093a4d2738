"""Recordings: upload (checked before any work starts), corrections, retention purge.

Uploading decodes the whole file once to check it by content (type, size,
duration, silence); nothing is stored unless every check passes, and a
failure while storing removes whatever was written (no orphan rows or files)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from feedback.models import (
    Recording,
    RecordingEvent,
    RecordingParticipant,
    RecordingSegment,
    RecordingSpeaker,
    RecordingStage,
)
from feedback.models.recordings import STAGES
from feedback.services.recording_pipeline import (
    recording_dir,
    recording_progress_push,
    recording_stage_enqueue,
    recording_stages_rerun_from,
)
from trainer_app.engines.speech.errors import (
    AudioTooLarge,
    AudioTooLong,
    AudioUndecodable,
    AudioUnsupportedType,
    SpeechError,
)

logger = logging.getLogger(__name__)
SILENCE_PEAK = 10 ** (-55 / 20)  # nothing louder than -55 dBFS anywhere: a silent file
# Magic numbers of the audio/video containers we read: a file that starts like one of these but
# cannot be decoded is damaged; anything else is the wrong type of file.
_AUDIO_MAGIC = (b"RIFF", b"fLaC", b"OggS", b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xf1", b"\xff\xf9", b"\x1aE\xdf\xa3")


# A file name without a suffix: the decoder's name-based hint check is skipped, the content decides.
CONTENT_DECIDES = "upload"


class RecordingRejected(ValueError):
    """The upload cannot be used; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class CheckedAudio:
    duration_s: float
    container: str
    codec: str
    size_bytes: int
    sha256: str


def _looks_like_media(*, head: bytes) -> bool:
    return head.startswith(_AUDIO_MAGIC) or head[4:8] == b"ftyp"


def recording_audio_check(*, path: Path) -> CheckedAudio:
    """Check an uploaded file by its content. Raises RecordingRejected with a specific message."""
    from trainer_app.engines.speech.audio import audio_decode

    size = path.stat().st_size
    max_bytes = int(settings.RECORDING_MAX_BYTES)
    max_seconds = float(settings.RECORDING_MAX_SECONDS)
    if size == 0:
        raise RecordingRejected("The file is empty (0 bytes).")
    if size > max_bytes:
        raise RecordingRejected(f"The file is too large ({size / 2**20:.1f} MB); the limit is {max_bytes / 2**20:.0f} MB.")
    with path.open("rb") as handle:
        head = handle.read(16)
    try:
        audio = audio_decode(source=path, filename=CONTENT_DECIDES, max_bytes=max_bytes, max_seconds=max_seconds)
    except AudioTooLong as exc:
        limit = f"{max_seconds / 60:.0f} minutes" if max_seconds >= 120 else f"{max_seconds:.0f} seconds"
        raise RecordingRejected(f"The recording is too long; the limit is {limit}.") from exc
    except AudioTooLarge as exc:
        raise RecordingRejected(str(exc)) from exc
    except AudioUnsupportedType as exc:
        raise RecordingRejected(f"Wrong type of file: {exc}") from exc
    except AudioUndecodable as exc:
        if "no audio track" in str(exc):
            raise RecordingRejected("That file has no audio track (a video without sound?).") from exc
        if not _looks_like_media(head=head):
            raise RecordingRejected(
                "Wrong type of file: this is not an audio or video file. Upload wav, flac, mp3, m4a/aac, ogg/opus, webm or mp4."
            ) from exc
        raise RecordingRejected("The file is corrupt: it looks like audio but could not be decoded.") from exc
    except SpeechError as exc:
        raise RecordingRejected(str(exc)) from exc
    if audio.duration_s < 0.5:
        raise RecordingRejected("The recording is empty (shorter than half a second).")
    if float(np.max(np.abs(audio.samples))) < SILENCE_PEAK:
        raise RecordingRejected("The recording is silent: there is no sound in it.")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return CheckedAudio(duration_s=audio.duration_s, container=audio.container, codec=audio.codec, size_bytes=size, sha256=digest.hexdigest())


def recording_create(
    *, source: Path, original_name: str, uploaded_by, title: str, cohort, consent_statement: str, mime: str = "",
    framework_slug: str = "", rubric_role: str = "trainee", participants: list[tuple[object, str]] = (), num_speakers: int | None = None,
    enqueue: bool = True,
) -> Recording:
    """Check the file, store it with the recording and its stages, and start the pipeline.

    `source` is a temporary file that this function moves into place. Raises RecordingRejected.
    With enqueue=False the caller runs the stages itself (the analyze_recording command)."""
    if not consent_statement.strip():
        raise RecordingRejected("Confirm that everyone recorded consented to its analysis.")
    checked = recording_audio_check(path=source)
    now = timezone.now()
    directory: Path | None = None
    try:
        with transaction.atomic():
            recording = Recording.objects.create(
                title=title.strip()[:200] or Path(original_name).stem[:200] or "Recording", cohort=cohort, uploaded_by=uploaded_by,
                original_name=Path(original_name).name[:255], mime=mime[:100], size_bytes=checked.size_bytes, sha256=checked.sha256,
                duration_s=checked.duration_s, container=checked.container, codec=checked.codec, framework_slug=framework_slug or "",
                rubric_role=rubric_role or "trainee", num_speakers=num_speakers, consent_statement=consent_statement.strip(),
                consent_by=uploaded_by, consent_at=now, retention_until=now + timedelta(days=int(settings.RECORDING_RETENTION_DAYS)),
                status=Recording.Status.PROCESSING,
            )
            RecordingStage.objects.bulk_create([RecordingStage(recording=recording, name=n, position=i) for i, n in enumerate(STAGES)])
            RecordingParticipant.objects.bulk_create(
                [RecordingParticipant(recording=recording, user=user, role=role.strip().lower()[:40]) for user, role in participants if user]
            )
            directory = recording_dir(recording_id=recording.pk)
            directory.mkdir(parents=True, exist_ok=True)
            suffix = Path(original_name).suffix.lower()[:8] if Path(original_name).suffix.isascii() else ""
            target = directory / f"source{suffix if suffix[1:].isalnum() else ''}"
            shutil.move(str(source), target)
            recording.audio_path = str(target.relative_to(settings.MEDIA_ROOT))
            recording.save(update_fields=["audio_path"])
            RecordingEvent.objects.create(recording=recording, kind="uploaded", actor=uploaded_by,
                                          message=f"Uploaded {recording.original_name} ({checked.duration_s:.0f} s, {checked.container}/{checked.codec}).")
            RecordingEvent.objects.create(recording=recording, kind="consent", actor=uploaded_by,
                                          message=f"Consent confirmed: {recording.consent_statement}")
            if enqueue:
                recording_stage_enqueue(recording_id=recording.pk, stage=STAGES[0])
    except BaseException:
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    return recording


def recording_delete(*, recording: Recording) -> None:
    directory = recording_dir(recording_id=recording.pk)
    recording.delete()
    shutil.rmtree(directory, ignore_errors=True)


def recordings_purge_expired(*, now=None) -> list[int]:
    """Delete the audio (and, unless RECORDING_KEEP_TRANSCRIPT, the transcript) of recordings past retention."""
    now = now or timezone.now()
    purged = []
    for recording in Recording.objects.filter(retention_until__lte=now, audio_deleted_at__isnull=True):
        shutil.rmtree(recording_dir(recording_id=recording.pk), ignore_errors=True)
        with transaction.atomic():
            keep = bool(settings.RECORDING_KEEP_TRANSCRIPT)
            if not keep:
                recording.segments.all().delete()
            Recording.objects.filter(pk=recording.pk).update(audio_path="", audio_deleted_at=now)
            RecordingEvent.objects.create(
                recording=recording, kind="retention",
                message="Retention period ended: the audio was deleted" + ("; the transcript is kept." if keep else ", and the transcript with it."),
            )
        purged.append(recording.pk)
    return purged


# --- corrections (each re-runs only what depends on it) -------------------------------------


def speaker_rename(*, speaker: RecordingSpeaker, name: str, role: str, actor) -> bool:
    """Rename a speaker (and set their role). Returns whether the analysis was re-run (the role changed)."""
    name = name.strip()[:120]
    role = role.strip().lower()[:40]
    if not name:
        raise RecordingRejected("A speaker needs a name.")
    role_changed = role != speaker.role
    with transaction.atomic():
        old = speaker.name
        speaker.name, speaker.role, speaker.named_by_instructor = name, role, True
        speaker.save(update_fields=["name", "role", "named_by_instructor"])
        RecordingEvent.objects.create(recording_id=speaker.recording_id, kind="speaker-renamed", actor=actor,
                                      message=f"{old} renamed to {name}" + (f" (role {role or 'none'})" if role_changed else "") + ".")
        if role_changed:
            recording_stages_rerun_from(recording=speaker.recording, stage="analysis", actor=actor, reason="Speaker role changed")
    return role_changed


def speakers_merge(*, source: RecordingSpeaker, target: RecordingSpeaker, actor) -> None:
    """Merge `source` into `target`: every segment of source becomes target's; the analysis is re-run."""
    if source.pk == target.pk or source.recording_id != target.recording_id:
        raise RecordingRejected("Choose two different speakers of this recording.")
    with transaction.atomic():
        RecordingSegment.objects.filter(speaker=source).update(speaker=target)
        RecordingSpeaker.objects.filter(merged_into=source).update(merged_into=target)
        source.merged_into = target
        source.save(update_fields=["merged_into"])
        RecordingEvent.objects.create(recording_id=source.recording_id, kind="speakers-merged", actor=actor,
                                      message=f"{source.name} merged into {target.name}.")
        recording_stages_rerun_from(recording=target.recording, stage="analysis", actor=actor, reason="Speakers merged")


def segment_reassign(*, segment: RecordingSegment, speaker: RecordingSpeaker, actor) -> None:
    if speaker.recording_id != segment.recording_id or speaker.merged_into_id:
        raise RecordingRejected("Choose a speaker of this recording.")
    with transaction.atomic():
        segment.speaker, segment.speaker_set_by_instructor = speaker, True
        segment.save(update_fields=["speaker", "speaker_set_by_instructor"])
        RecordingEvent.objects.create(recording_id=segment.recording_id, kind="segment-reassigned", actor=actor,
                                      message=f"Segment at {segment.start:.1f} s given to {speaker.name}.")
        recording_stages_rerun_from(recording=segment.recording, stage="analysis", actor=actor, reason="Segment reassigned")


def segment_restore(*, segment: RecordingSegment, actor, restore: bool = True) -> None:
    """Bring a removed segment back into the transcript (or remove it again)."""
    with transaction.atomic():
        segment.removed = not restore
        segment.restored_by = actor if restore else None
        segment.save(update_fields=["removed", "restored_by"])
        RecordingEvent.objects.create(
            recording_id=segment.recording_id, kind="segment-restored" if restore else "segment-removed", actor=actor,
            message=(f"Restored the segment at {segment.start:.1f} s (removed as: {segment.removal_reason})." if restore
                     else f"Removed the segment at {segment.start:.1f} s."),
        )
        recording_stages_rerun_from(recording=segment.recording, stage="analysis", actor=actor,
                                    reason="Segment restored" if restore else "Segment removed")


def recording_framework_set(*, recording: Recording, framework_slug: str, rubric_role: str, actor) -> None:
    with transaction.atomic():
        Recording.objects.filter(pk=recording.pk).update(framework_slug=framework_slug, rubric_role=rubric_role or "trainee")
        recording.framework_slug, recording.rubric_role = framework_slug, rubric_role or "trainee"
        recording_stages_rerun_from(recording=recording, stage="analysis", actor=actor, reason=f"Framework set to {framework_slug or 'none'}")


def recording_stage_retry_from_page(*, recording: Recording, actor) -> str:
    from feedback.services.recording_pipeline import recording_stage_retry

    try:
        return recording_stage_retry(recording=recording, actor=actor)
    except ValueError as exc:
        raise RecordingRejected(str(exc)) from exc


def recording_progress_refresh(*, recording_id: int) -> None:
    recording_progress_push(recording_id=recording_id)


def temp_upload_path(*, directory: Path | None = None) -> Path:
    """A fresh temporary path (no suffix: the type is decided by content) beside the media root."""
    import tempfile

    base = directory or Path(settings.MEDIA_ROOT) / "recordings" / "incoming"
    base.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=base, prefix="upload-")
    os.close(fd)
    return Path(name)
