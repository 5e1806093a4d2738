"""Load the live recognizer when a worker that takes the speech queue starts, so that the first
voice turn does not wait seconds for the model (ASR_WARM_ON_START, on except in tests)."""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


def _consumes_speech(sender) -> bool:
    try:
        queues = sender.app.amqp.queues.consume_from
    except AttributeError:
        return True
    return not queues or "speech" in queues


def _warm() -> None:
    from trainer_app.engines.speech.asr import asr_status, asr_warm

    try:
        asr_warm(purpose="live")
        logger.info("asr warm: %s", asr_status(purpose="live").backend)
    except Exception:
        logger.exception("asr warm-up failed (the first voice turn will load the recognizer)")


@worker_ready.connect(dispatch_uid="trainer_app.speech.asr_warm", weak=False)
def _warm_on_worker_ready(sender=None, **kwargs) -> None:
    from trainer_app.engines.speech.config import speech_setting

    if speech_setting(name="ASR_WARM_ON_START") and (sender is None or _consumes_speech(sender)):
        # a thread: the worker takes tasks meanwhile (a voice turn arriving early waits on the load lock)
        threading.Thread(target=_warm, name="asr-warm", daemon=True).start()
