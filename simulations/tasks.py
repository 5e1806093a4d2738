"""Celery tasks of simulations (routed to the speech queue: simulations.tasks.voice_*)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from simulations.events import session_push
from simulations.models import VoiceClip
from simulations.services import session_events
from simulations.services.voice import (
    voice_clip_claim,
    voice_clip_transcribe,
    voice_clip_unclaim,
    voice_clips_resume_stalled,
)

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="simulations.tasks.voice_transcribe_clip",
    time_limit=240,
    soft_time_limit=210,
    max_retries=3,
    ignore_result=True,
)
def voice_transcribe_clip(self, clip_id: int) -> None:
    """Transcribe one voice clip into a trainee turn and generate the reply.

    Idempotent: the clip is claimed with a conditional UPDATE (pending →
    processing), so a redelivered message does nothing. Only a locked or
    lost database is retried; speech errors are the trainee's to fix."""
    if not voice_clip_claim(clip_id=clip_id):
        logger.info("voice clip %s already claimed or finished", clip_id)
        return
    session_id = VoiceClip.objects.values_list("session_id", flat=True).get(pk=clip_id)

    def push(event: dict) -> None:
        session_push(session_id=session_id, html=event["html"], kind=event["kind"], data=event["data"])

    try:
        voice_clip_transcribe(clip_id=clip_id, push=push)
    except OperationalError as exc:
        voice_clip_unclaim(clip_id=clip_id)
        raise self.retry(exc=exc, countdown=2) from exc
    except Exception:
        logger.exception("voice clip %s failed", clip_id)
        VoiceClip.objects.filter(pk=clip_id).update(status=VoiceClip.Status.FAILED, error="internal error")
        push(session_events.notice_event(
            message="Something went wrong with that recording. Please try again.",
            extra_html=session_events.voice_pending_delete_html(clip_id=clip_id),
        ))
        raise


@shared_task(name="simulations.tasks.voice_clips_sweep", time_limit=60, soft_time_limit=50, ignore_result=True)
def voice_clips_sweep() -> list[int]:
    """Periodic (Celery beat): re-enqueue voice clips whose message was lost or whose worker died."""
    return voice_clips_resume_stalled()
