from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="trainer_app.tasks.retention_purge", time_limit=600, soft_time_limit=570, ignore_result=True)
def retention_purge() -> None:
    """Delete audio (and anything else) past its retention period; scheduled by Celery beat."""
    from trainer_app.privacy.retention import retention_purge_run

    retention_purge_run()
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
