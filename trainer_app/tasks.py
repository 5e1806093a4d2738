from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from celery import shared_task
from channels.layers import get_channel_layer

from trainer_app.consumers import user_group_name

logger = logging.getLogger(__name__)


@shared_task(name="trainer_app.tasks.user_notify", time_limit=30, soft_time_limit=25, ignore_result=True)
def user_notify(user_id: int, payload: dict) -> None:
    """Push a small JSON payload to every open page of one user."""
    async_to_sync(get_channel_layer().group_send)(user_group_name(user_id), {"type": "user.notify", "payload": payload})


@shared_task(
    bind=True,
    name="trainer_app.tasks.speech_voice_enrolment_embed",  # speech queue (trainer_app.tasks.speech_*)
    time_limit=180,
    soft_time_limit=150,
    max_retries=3,
    ignore_result=True,
)
def speech_voice_enrolment_embed(self, enrolment_id: int) -> None:
    """Compute one voice enrolment's speaker embedding.

    Idempotent: the enrolment is claimed with a conditional UPDATE (pending → processing), so a
    redelivered message does nothing. Only a locked or lost database is retried."""
    from django.db import OperationalError

    from trainer_app.services_voice import (
        voice_enrolment_claim,
        voice_enrolment_fail,
        voice_enrolment_process,
        voice_enrolment_unclaim,
    )

    if not voice_enrolment_claim(enrolment_id=enrolment_id):
        logger.info("voice enrolment %s already claimed, finished or deleted", enrolment_id)
        return
    try:
        voice_enrolment_process(enrolment_id=enrolment_id)
    except OperationalError as exc:
        voice_enrolment_unclaim(enrolment_id=enrolment_id)
        raise self.retry(exc=exc, countdown=2) from exc
    except Exception:
        logger.exception("voice enrolment %s failed", enrolment_id)
        voice_enrolment_fail(
            enrolment_id=enrolment_id, message="Something went wrong while computing your voice print. Please try again."
        )
        raise
