"""In every worker that consumes the speech or analysis queue: a thread that
resumes recording stages a killed worker abandoned (lease lapsed), every
RECORDING_SWEEP_SECONDS. Beat runs the same sweep (recording_resume_stalled)
where a deployment runs beat; this keeps `make run` whole without it."""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_ready, worker_shutdown

logger = logging.getLogger(__name__)
_stop = threading.Event()


def _sweep_forever(interval: float) -> None:
    from django.db import close_old_connections

    from feedback.services.recording_pipeline import recordings_resume_stalled

    while not _stop.wait(interval):
        try:
            recordings_resume_stalled()
        except Exception:  # a locked database: the next sweep tries again
            logger.exception("recording sweep failed")
        finally:
            close_old_connections()


@worker_ready.connect
def _start_sweeper(sender=None, **kwargs) -> None:
    from django.conf import settings

    queues = {q.name for q in sender.app.amqp.queues.consume_from.values()} if sender else set()
    if not queues & {"speech", "analysis"}:
        return
    _stop.clear()
    threading.Thread(
        target=_sweep_forever, args=(float(settings.RECORDING_SWEEP_SECONDS),), daemon=True, name="recording-sweeper"
    ).start()


@worker_shutdown.connect
def _stop_sweeper(sender=None, **kwargs) -> None:
    _stop.set()
