"""Voice enrolment services (writes): store a clip, compute its voice print on the speech queue, delete.

The web process only decodes the upload (PyAV, to refuse what is not audio or is too short at once);
the voice activity check and the speaker embedding (PyTorch) run in the worker
(`trainer_app.tasks.speech_voice_enrolment_embed`). The clip is deleted as soon as the voice print
is computed unless the person agreed to keep it.
"""

from __future__ import annotations

import io
import logging
import wave

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from trainer_app.models import VoiceEnrolment

logger = logging.getLogger(__name__)


class VoiceEnrolmentRejected(Exception):
    """The clip cannot be used; `str(error)` is a sentence for the person who recorded it."""


def _min_speech_s() -> float:
    return float(settings.VOICE_ENROLMENT_MIN_SPEECH_S)


def _wav_bytes(*, samples: np.ndarray, sample_rate: int) -> bytes:
    pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _decode(*, data: bytes, filename: str, mime: str):
    from trainer_app.engines.speech.audio import audio_decode
    from trainer_app.engines.speech.errors import SpeechError

    try:
        return audio_decode(
            source=data, filename=filename, mime=mime, max_seconds=float(settings.VOICE_ENROLMENT_MAX_SECONDS)
        )
    except SpeechError as exc:
        raise VoiceEnrolmentRejected(str(exc)) from exc


def voice_enrolment_check_clip(*, samples: np.ndarray, sample_rate: int) -> float:
    """Quick checks the web process can afford (no VAD model); returns the clip's duration in seconds."""
    duration = len(samples) / sample_rate
    minimum = _min_speech_s()
    if duration < minimum:
        raise VoiceEnrolmentRejected(
            f"That recording is only {duration:.1f} s long. Please record at least {minimum:.0f} seconds of "
            "speech (reading the text aloud takes about 10 seconds)."
        )
    if len(samples) == 0 or float(np.max(np.abs(samples))) < 1e-3:
        raise VoiceEnrolmentRejected(
            "That recording is silent. Check that the right microphone is selected and allowed, then try again."
        )
    return duration


def voice_enrolment_create(
    *,
    user,
    created_by,
    keep_audio: bool,
    audio: UploadedFile | None = None,
    samples: np.ndarray | None = None,
    sample_rate: int = 16_000,
) -> VoiceEnrolment:
    """Store a clip (an upload, or 16 kHz samples) for `user` and enqueue its voice print after commit.

    The caller has obtained consent (the person's own tick, or an admin acting on their behalf);
    the time of it is recorded. Raises VoiceEnrolmentRejected with a readable reason.
    """
    if (audio is None) == (samples is None):
        raise ValueError("give exactly one of `audio` or `samples`")
    if audio is not None:
        data = audio.read()
        audio.seek(0)
        mime = (audio.content_type or "")[:100]
        decoded = _decode(data=data, filename=audio.name or "", mime=mime)
        duration = voice_enrolment_check_clip(samples=decoded.samples, sample_rate=decoded.sample_rate)
        content, name = data, audio.name or "enrolment.webm"
    else:
        if sample_rate != 16_000:
            raise ValueError(f"samples must be 16 kHz, got {sample_rate} Hz")
        duration = voice_enrolment_check_clip(samples=np.asarray(samples, dtype=np.float32), sample_rate=sample_rate)
        content, name, mime = _wav_bytes(samples=samples, sample_rate=sample_rate), "enrolment.wav", "audio/wav"
    with transaction.atomic():
        enrolment = VoiceEnrolment(
            user=user,
            created_by=created_by,
            keep_audio=bool(keep_audio),
            consent_at=timezone.now(),
            mime_type=mime,
            duration_s=round(duration, 2),
        )
        enrolment.audio.save(name.rsplit("/", 1)[-1][-80:], ContentFile(content), save=False)
        enrolment.save()
        transaction.on_commit(lambda: _enqueue(enrolment_id=enrolment.pk))
    logger.info("voice enrolment %s stored for user %s by user %s", enrolment.pk, user.pk, getattr(created_by, "pk", None))
    return enrolment


def _enqueue(*, enrolment_id: int) -> None:
    from trainer_app.tasks import speech_voice_enrolment_embed

    speech_voice_enrolment_embed.delay(enrolment_id)


def voice_enrolment_claim(*, enrolment_id: int) -> bool:
    """pending → processing; False when another run has it or it is finished."""
    return bool(
        VoiceEnrolment.objects.filter(pk=enrolment_id, status=VoiceEnrolment.Status.PENDING).update(
            status=VoiceEnrolment.Status.PROCESSING
        )
    )


def voice_enrolment_unclaim(*, enrolment_id: int) -> None:
    """Back to pending so that a retried task can claim it again (transient failure)."""
    VoiceEnrolment.objects.filter(pk=enrolment_id, status=VoiceEnrolment.Status.PROCESSING).update(
        status=VoiceEnrolment.Status.PENDING
    )


def _audio_drop_on_commit(*, enrolment: VoiceEnrolment) -> None:
    """Delete the clip's file once the row that no longer names it is committed."""
    if enrolment.audio:
        storage, name = enrolment.audio.storage, enrolment.audio.name
        transaction.on_commit(lambda: storage.delete(name))


def voice_enrolment_fail(*, enrolment_id: int, message: str) -> None:
    """Mark failed with a readable reason and delete the clip (it has no use any more)."""
    with transaction.atomic():
        enrolment = VoiceEnrolment.objects.select_for_update().filter(pk=enrolment_id).first()
        if enrolment is None:
            return
        _audio_drop_on_commit(enrolment=enrolment)
        VoiceEnrolment.objects.filter(pk=enrolment_id).update(
            status=VoiceEnrolment.Status.FAILED, error=message, audio="", completed_at=timezone.now()
        )


def voice_enrolment_process(*, enrolment_id: int) -> VoiceEnrolment | None:
    """Compute the voice print of a claimed enrolment (worker side).

    Too little speech marks it failed with the reason; success stores the embedding, drops the clip
    unless the person agreed to keep it, and replaces the person's earlier enrolments."""
    from trainer_app.engines.speech.speaker_embeddings import speaker_embed, speaker_embedding_model_name
    from trainer_app.engines.speech.vad import vad_speech_regions

    enrolment = VoiceEnrolment.objects.filter(pk=enrolment_id, status=VoiceEnrolment.Status.PROCESSING).first()
    if enrolment is None:
        return None
    if not enrolment.audio:
        voice_enrolment_fail(enrolment_id=enrolment_id, message="The recording is missing. Please record again.")
        return None
    try:
        with enrolment.audio.open("rb") as handle:
            data = handle.read()
        decoded = _decode(data=data, filename=enrolment.audio.name, mime=enrolment.mime_type)
    except (OSError, VoiceEnrolmentRejected) as exc:
        voice_enrolment_fail(enrolment_id=enrolment_id, message=str(exc) or "The recording could not be read.")
        return None
    regions = vad_speech_regions(samples=decoded.samples, sample_rate=decoded.sample_rate)
    speech_s = sum(end - start for start, end in regions)
    minimum = _min_speech_s()
    if speech_s < minimum:
        if speech_s < 0.5:
            message = "We couldn't hear any speech in that recording. Please read the text aloud and try again."
        else:
            message = (
                f"We heard only {speech_s:.1f} s of speech in that recording; at least {minimum:.0f} s are needed. "
                "Please read the whole text aloud, close to the microphone."
            )
        VoiceEnrolment.objects.filter(pk=enrolment_id).update(speech_s=round(speech_s, 2))
        voice_enrolment_fail(enrolment_id=enrolment_id, message=message)
        return None
    vector = speaker_embed(samples=decoded.samples, sample_rate=decoded.sample_rate)
    with transaction.atomic():
        enrolment = VoiceEnrolment.objects.select_for_update().get(pk=enrolment_id)
        if enrolment.status != VoiceEnrolment.Status.PROCESSING:  # deleted or re-run meanwhile
            return None
        if not enrolment.keep_audio:
            _audio_drop_on_commit(enrolment=enrolment)
            enrolment.audio = ""
        enrolment.embedding = np.asarray(vector, dtype="<f4").tobytes()
        enrolment.model_name = speaker_embedding_model_name()
        enrolment.speech_s = round(speech_s, 2)
        enrolment.duration_s = round(decoded.duration_s, 2)
        enrolment.status = VoiceEnrolment.Status.DONE
        enrolment.error = ""
        enrolment.completed_at = timezone.now()
        enrolment.save()
        for older in VoiceEnrolment.objects.filter(user_id=enrolment.user_id).exclude(pk=enrolment.pk).filter(
            created_at__lte=enrolment.created_at
        ).exclude(status__in=[VoiceEnrolment.Status.PENDING, VoiceEnrolment.Status.PROCESSING]):
            voice_enrolment_delete(enrolment=older, deleted_by=None)
    logger.info("voice enrolment %s done: %.1f s of speech", enrolment.pk, speech_s)
    return enrolment


def voice_enrolment_delete(*, enrolment: VoiceEnrolment, deleted_by) -> None:
    """Delete the enrolment and its clip (the file goes once the transaction commits)."""
    logger.info(
        "voice enrolment %s of user %s deleted by %s",
        enrolment.pk,
        enrolment.user_id,
        getattr(deleted_by, "pk", "the system"),
    )
    enrolment.delete()  # the clip is removed by the post_delete receiver in trainer_app.signals
