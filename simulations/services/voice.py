"""Voice turns: store the upload, then (on the speech queue) transcribe it and
hand the transcript to the same path as a typed turn."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from simulations.models import PracticeSession, Turn, VoiceClip
from simulations.services import session_events
from simulations.services.persona_replies import persona_reply_generate
from simulations.services.turns import TurnRejected, trainee_turn_submit

logger = logging.getLogger(__name__)

Push = Callable[[dict], None]


def voice_clip_store(*, session: PracticeSession, audio: UploadedFile, client_id: str) -> tuple[VoiceClip, bool]:
    """Store an upload once per client id; the transcription is enqueued after commit."""
    from simulations.tasks import voice_transcribe_clip

    existing = VoiceClip.objects.filter(session=session, client_id=client_id).first()
    if existing is not None:
        return existing, False
    if session.status != PracticeSession.Status.ACTIVE:
        raise TurnRejected("ended", "This session has ended; start a new one to keep practising.")
    try:
        with transaction.atomic():
            clip = VoiceClip.objects.create(
                session=session,
                audio=audio,
                mime_type=(audio.content_type or "")[:100],
                size_bytes=audio.size,
                client_id=client_id,
            )
            transaction.on_commit(lambda: voice_transcribe_clip.delay(clip.pk))
    except IntegrityError:
        return VoiceClip.objects.get(session=session, client_id=client_id), False
    return clip, True


def voice_clip_claim(*, clip_id: int) -> bool:
    """pending → processing; False when another run has it (or it is done)."""
    return bool(VoiceClip.objects.filter(pk=clip_id, status=VoiceClip.Status.PENDING).update(
        status=VoiceClip.Status.PROCESSING
    ))


def voice_clip_unclaim(*, clip_id: int) -> None:
    """Back to pending so a retried task can claim it again (transient failure)."""
    VoiceClip.objects.filter(pk=clip_id, status=VoiceClip.Status.PROCESSING).update(status=VoiceClip.Status.PENDING)


def voice_clip_fail(*, clip: VoiceClip, message: str, push: Push) -> None:
    VoiceClip.objects.filter(pk=clip.pk).update(status=VoiceClip.Status.FAILED, error=message)
    push(session_events.notice_event(message=message, extra_html=session_events.voice_pending_delete_html(clip_id=clip.pk)))


def voice_clip_transcribe(*, clip_id: int, push: Push) -> Turn | None:
    """Transcribe a claimed clip into a trainee turn, then generate the persona's reply.

    Speech errors (silence, noise, corrupt or too long audio) mark the clip
    failed and tell the page why; no empty turn is stored."""
    from trainer_app.engines.speech.errors import SpeechError
    from trainer_app.engines.speech.pipeline import speech_transcribe

    clip = VoiceClip.objects.select_related("session").get(pk=clip_id)
    try:
        with clip.audio.open("rb") as handle:
            data = handle.read()
        transcript = speech_transcribe(audio_bytes=data, filename=clip.audio.name, mime=clip.mime_type)
    except SpeechError as exc:
        voice_clip_fail(clip=clip, message=str(exc), push=push)
        return None
    meta = {"clip_id": clip.pk, "asr_backend": transcript.backend, "low_accuracy": transcript.low_accuracy,
            "duration_s": round(transcript.duration_s, 2)}
    try:
        turn, _created = trainee_turn_submit(
            session_id=clip.session_id, text=transcript.text, client_id=f"voice-{clip.client_id}"[:64],
            source=Turn.Source.VOICE, meta=meta,
        )
    except TurnRejected as exc:
        voice_clip_fail(clip=clip, message=exc.message, push=push)
        return None
    VoiceClip.objects.filter(pk=clip.pk).update(
        status=VoiceClip.Status.DONE, transcript=transcript.text, asr_backend=transcript.backend,
        low_accuracy=transcript.low_accuracy, duration_s=transcript.duration_s, turn=turn, error="",
    )
    push(session_events.transcript_event(turn=turn, clip_id=clip.pk))
    persona_reply_generate(session_id=clip.session_id, push=push)
    return turn
