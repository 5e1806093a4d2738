"""Celery tasks of feedback. Tasks take ids and are safe to run twice.

`feedback.tasks.live_*` run on the realtime queue (settings.CELERY_TASK_ROUTES),
apart from the persona's reply, so feedback never delays it."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from feedback.services.live import LIVE_ASSESS_TIME_LIMIT_S

logger = logging.getLogger(__name__)


@shared_task(
    name="feedback.tasks.live_assess_turn",
    time_limit=LIVE_ASSESS_TIME_LIMIT_S, soft_time_limit=45, acks_late=True, ignore_result=True,
    autoretry_for=(OperationalError,),  # a locked/restarting database is transient; engine errors are not
    retry_backoff=1, retry_backoff_max=10, max_retries=3,
)
def live_assess_turn(turn_id: int) -> list[int]:
    """Assess one trainee turn and push its hints (feedback.services.live); a no-op when
    another delivery already claimed it. Behind a backlog, up to LIVE_ASSESS_BATCH - 1 other
    waiting turns are claimed and assessed with it (their own messages then find them done)."""
    from django.conf import settings

    from feedback.services.live import live_assessment_run

    return live_assessment_run(turn_id=turn_id, batch=settings.LIVE_ASSESS_BATCH)


@shared_task(name="feedback.tasks.live_feedback_sweep", time_limit=60, soft_time_limit=50, ignore_result=True)
def live_feedback_sweep() -> list[int]:
    """Periodic (Celery beat): re-enqueue assessments still pending too long."""
    from feedback.services.live import live_assessments_sweep

    return live_assessments_sweep()


@shared_task(
    name="feedback.tasks.live_assess_session_rest",
    time_limit=300, soft_time_limit=280, acks_late=True, ignore_result=True,
    autoretry_for=(OperationalError,), retry_backoff=1, retry_backoff_max=10, max_retries=3,
)
def live_assess_session_rest(session_id: int) -> list[int]:
    """After a session ends: assess every trainee turn still missing an
    assessment, so the debrief is complete (no push: the page has moved on).
    A turn whose live assessment is running elsewhere is left to it."""
    from feedback.models import AssessmentRequest
    from feedback.services.assessments import session_turns_unassessed, turn_assess
    from feedback.services.live import live_assessment_run

    missing = session_turns_unassessed(session_id=session_id)
    requested = set(AssessmentRequest.objects.filter(turn_id__in=missing).values_list("turn_id", flat=True))
    for turn_id in missing:
        if turn_id in requested:
            live_assessment_run(turn_id=turn_id, hints=False)
        else:  # stored before assessment requests existed
            turn_assess(turn_id=turn_id)
    return missing


@shared_task(
    name="feedback.tasks.report_formulation_score",
    time_limit=120, soft_time_limit=100, acks_late=True, ignore_result=True,
    autoretry_for=(OperationalError,), retry_backoff=1, retry_backoff_max=10, max_retries=3,
)
def report_formulation_score(worksheet_id: int) -> None:
    from feedback.services.formulation import worksheet_score

    worksheet_score(worksheet_id=worksheet_id)


# --- Recording pipeline (feedback.services.recording_pipeline) -------------------------------
# Each stage task runs one stage, or the next part of a split one, well inside these limits
# (RECORDING_TASK_BUDGET_S); a stage claims its row, so a duplicate message does nothing.


@shared_task(
    name="feedback.tasks.recording_speech_stage",
    time_limit=600, soft_time_limit=540, acks_late=True, ignore_result=True,
    autoretry_for=(OperationalError,), retry_backoff=1, retry_backoff_max=10, max_retries=3,
)
def recording_speech_stage(recording_id: int, stage: str) -> str:
    from feedback.services.recording_pipeline import recording_stage_run

    return recording_stage_run(recording_id=recording_id, stage=stage)


@shared_task(
    name="feedback.tasks.recording_analysis_stage",
    time_limit=600, soft_time_limit=540, acks_late=True, ignore_result=True,
    autoretry_for=(OperationalError,), retry_backoff=1, retry_backoff_max=10, max_retries=3,
)
def recording_analysis_stage(recording_id: int, stage: str) -> str:
    from feedback.services.recording_pipeline import recording_stage_run

    return recording_stage_run(recording_id=recording_id, stage=stage)


@shared_task(name="feedback.tasks.recording_resume_stalled", time_limit=60, soft_time_limit=50, ignore_result=True)
def recording_resume_stalled() -> int:
    from feedback.services.recording_pipeline import recordings_resume_stalled

    return recordings_resume_stalled()


@shared_task(name="feedback.tasks.recording_purge_expired", time_limit=300, soft_time_limit=280, ignore_result=True)
def recording_purge_expired() -> list[int]:
    from feedback.services.recordings import recordings_purge_expired

    return recordings_purge_expired()
