"""Voice turns: store the upload, then (on the speech queue) transcribe it and
hand the transcript to the same path as a typed turn.

A clip is claimed with a conditional UPDATE and a lease that its worker renews
while it transcribes (trainer_app.leases). The sweep (Celery beat,
``VOICE_CLIP_SWEEP_S``) re-enqueues clips whose message was lost (still pending
when their lease ran out: Redis restarted, the web died before enqueueing) and
clips whose worker was killed mid-transcription (lease lapsed); the claim makes
every duplicate delivery a no-op, and a resent transcript is stored once (the
turn's client id)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from simulations.models import PracticeSession, Turn, VoiceClip
from simulations.services import session_events
from simulations.services.persona_replies import persona_reply_generate
from simulations.services.turns import TurnRejected, trainee_turn_submit
from trainer_app.leases import lease_renewed
from trainer_app.outages import OUTAGE_ERRORS, outage_warn

logger = logging.getLogger(__name__)

Push = Callable[[dict], None]


def voice_clip_store(*, session: PracticeSession, audio: UploadedFile, client_id: str) -> tuple[VoiceClip, bool]:
    """Store an upload once per client id; the transcription is enqueued after commit."""
    existing = VoiceClip.objects.filter(session=session, client_id=client_id).first()
    if existing is not None:
        return existing, False
    if session.status != PracticeSession.Status.ACTIVE:
        raise TurnRejected("ended", "This session has ended; start a new one to keep practising.")
    clip = VoiceClip(
        session=session,
        mime_type=(audio.content_type or "")[:100],
        size_bytes=audio.size,
        client_id=client_id,
        lease_until=_lease_end(),
    )
    stored = ""  # the file's name in storage once written
    try:
        with transaction.atomic():
            clip.audio.save(audio.name or "clip", audio, save=False)
            stored = clip.audio.name
            clip.save()
            transaction.on_commit(lambda: _enqueue(clip_id=clip.pk))
    except IntegrityError:
        _audio_discard(clip=clip, name=stored)
        return VoiceClip.objects.get(session=session, client_id=client_id), False
    except BaseException:
        # The row was not committed (the database went mid-INSERT, storage failed): no file without its row.
        _audio_discard(clip=clip, name=stored)
        raise
    return clip, True


def _audio_discard(*, clip: VoiceClip, name: str) -> None:
    if not name:
        return
    try:
        clip.audio.storage.delete(name)
    except OSError:
        logger.warning("voice clip upload: could not remove the uncommitted file %s", name)


def _lease_end():
    return timezone.now() + timedelta(seconds=settings.VOICE_CLIP_LEASE_S)


def _enqueue(*, clip_id: int) -> None:
    """Never raises: the clip is committed, and the sweep enqueues what this could not
    (a broker that is down must not turn a stored upload into an error page)."""
    from simulations.tasks import voice_transcribe_clip

    try:
        voice_transcribe_clip.apply_async(args=[clip_id], retry=False)
    except OUTAGE_ERRORS as exc:  # the broker is down: one line, not a traceback per clip
        outage_warn(what="voice clips: could not enqueue a transcription (the sweep will)", exc=exc, log=logger)
    except Exception:
        logger.exception("voice clip %s: could not enqueue its transcription (the sweep will)", clip_id)


def voice_clip_claim(*, clip_id: int) -> bool:
    """pending (or processing with a lapsed lease: its worker died) → processing, with a fresh
    lease; False when another run has it (or it is done)."""
    return bool(VoiceClip.objects.filter(
        Q(status=VoiceClip.Status.PENDING) | Q(status=VoiceClip.Status.PROCESSING, lease_until__lt=timezone.now()),
        pk=clip_id,
    ).update(status=VoiceClip.Status.PROCESSING, lease_until=_lease_end()))


def voice_clip_unclaim(*, clip_id: int) -> None:
    """Back to pending so a retried task can claim it again (transient failure)."""
    VoiceClip.objects.filter(pk=clip_id, status=VoiceClip.Status.PROCESSING).update(status=VoiceClip.Status.PENDING)


def voice_clips_resume_stalled(*, limit: int = 200) -> list[int]:
    """Re-enqueue clips pending or processing past their lease (message lost, worker killed); their ids."""
    now = timezone.now()
    due = list(
        VoiceClip.objects.filter(
            status__in=[VoiceClip.Status.PENDING, VoiceClip.Status.PROCESSING], lease_until__lt=now,
            session__status=PracticeSession.Status.ACTIVE,
        ).order_by("created_at").values_list("pk", flat=True)[:limit]
    )
    if not due:
        return []
    # Back to pending (an abandoned claim is released), and not again until a lease has passed;
    # a clip claimed meanwhile has a fresh lease and is left alone.
    VoiceClip.objects.filter(
        Q(status=VoiceClip.Status.PENDING) | Q(status=VoiceClip.Status.PROCESSING, lease_until__lt=now), pk__in=due
    ).update(status=VoiceClip.Status.PENDING, lease_until=_lease_end())
    logger.warning("voice sweep: re-enqueueing %d stalled clip(s): %s", len(due), due[:20])
    for clip_id in due:
        _enqueue(clip_id=clip_id)
    return due


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

    def renew() -> None:
        VoiceClip.objects.filter(pk=clip_id, status=VoiceClip.Status.PROCESSING).update(lease_until=_lease_end())

    try:
        with clip.audio.open("rb") as handle:
            data = handle.read()
        with lease_renewed(renew=renew, lease_s=settings.VOICE_CLIP_LEASE_S, name=f"voice-{clip_id}"):
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
