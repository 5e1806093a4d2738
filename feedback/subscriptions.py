"""Feedback subscribes to simulations events here (wired in FeedbackConfig.ready).

Keep this a list of small registrations; append yours below."""

from feedback.pack_hooks import frameworks_export, frameworks_import
from feedback.pack_schema import frameworks_validate
from feedback.selectors.frameworks import framework_choices, framework_exists
from simulations.packs.registry import pack_section_register

# Scenario packs: frameworks (with exemplars) are feedback's section.
pack_section_register(
    name="frameworks",
    order=10,
    validate=frameworks_validate,
    import_=frameworks_import,
    export=frameworks_export,
    exists=lambda *, slug: framework_exists(slug=slug),
    choices=framework_choices,
)


# --- Live feedback: assess each trainee turn on the realtime queue -----------------------
import logging  # noqa: E402

from celery.signals import worker_ready  # noqa: E402
from django.db import transaction  # noqa: E402

from simulations.events import session_ended, turn_recorded  # noqa: E402

logger = logging.getLogger(__name__)


def _on_turn_recorded(sender=None, *, turn_id: int, session_id: int, speaker: str | None = None, session=None,
                      **kwargs) -> None:
    # Inside the turn's transaction: the outbox row commits with the turn (feedback.services.live).
    from feedback.services.live import live_assessment_record

    live_assessment_record(turn_id=turn_id, session_id=session_id, speaker=speaker, session=session)


def _session_rest_enqueue(session_id: int) -> None:
    from feedback.tasks import live_assess_session_rest
    from trainer_app.outages import OUTAGE_ERRORS, outage_warn

    try:
        live_assess_session_rest.delay(session_id)
    except OUTAGE_ERRORS as exc:  # the turns' own requests (and their sweep) still cover the debrief
        outage_warn(what="feedback: could not enqueue an end-of-session assessment", exc=exc, log=logger)
    except Exception:
        logger.exception("feedback: could not enqueue the end-of-session assessment of session %s", session_id)


def _on_session_ended(sender=None, *, session_id: int, **kwargs) -> None:
    transaction.on_commit(lambda: _session_rest_enqueue(session_id))


def _consumes_live_feedback(consumer) -> bool:
    """Does this worker take the realtime queue? (A speech-only worker need not load assessors.)"""
    try:
        queues = consumer.app.amqp.queues.consume_from
    except AttributeError:
        return True
    return not queues or "realtime" in queues


def _warm_assessors(sender=None, **kwargs) -> None:
    # In a background thread: the worker takes tasks (and beats) meanwhile;
    # a turn arriving early waits on the framework's build lock.
    from feedback.services.assessors import assessors_warm_in_background

    if sender is None or _consumes_live_feedback(sender):
        assessors_warm_in_background()


turn_recorded.connect(_on_turn_recorded, dispatch_uid="feedback.live_assessment_record")
session_ended.connect(_on_session_ended, dispatch_uid="feedback.live_assess_session_rest")
worker_ready.connect(_warm_assessors, dispatch_uid="feedback.warm_assessors", weak=False)


# --- Catch-up: a page that was away gets the live feedback pushed meanwhile ------------------
from simulations.events import session_catch_up  # noqa: E402


def _on_session_catch_up(sender=None, *, turns, **kwargs) -> list[dict]:
    from feedback.services.live import live_feedback_catch_up

    return live_feedback_catch_up(turns=turns)


session_catch_up.connect(_on_session_catch_up, dispatch_uid="feedback_live_catch_up")
