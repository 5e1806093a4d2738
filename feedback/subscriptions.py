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
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

from celery.signals import worker_ready  # noqa: E402
from django.db import transaction  # noqa: E402

from simulations.events import session_ended, turn_stored  # noqa: E402

logger = logging.getLogger(__name__)

# perf: publishing a task goes through the broker (the embedded runtime's SQLite
# transport: a write transaction, ~20% of the web process's time per turn under
# load). The turn_stored hook runs on the thread that stored the turn, before the
# turn is pushed and the reply starts; so the publish is handed to one background
# thread owned by feedback (created lazily: per process, after any fork). One
# thread keeps tasks in the order they were announced (a session's turns before
# its end-of-session task). Still after commit: the hand-off happens in on_commit.
_PUBLISH_RETRY_DELAY_S = 0.2
_publisher_lock = threading.Lock()
_publisher: ThreadPoolExecutor | None = None


def _publish_pool() -> ThreadPoolExecutor:
    global _publisher
    if _publisher is None:
        with _publisher_lock:
            if _publisher is None:
                _publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedback-publish")
    return _publisher


def _publish(task, *args) -> None:
    # The reply's first token is what the trainee waits for; its compute-heavy start (embedding,
    # state update) takes a few tens of ms. Live feedback starts just after it, so that on a small
    # machine the two do not run at once (feedback's budget is a second; LIVE_FEEDBACK_DELAY_S).
    from django.conf import settings

    countdown = float(getattr(settings, "LIVE_FEEDBACK_DELAY_S", 0) or 0)
    for attempt in (1, 2):
        try:
            task.apply_async(args=args, countdown=countdown if countdown > 0 else None)
            return
        except Exception:
            if attempt == 2:
                logger.exception("feedback: could not enqueue %s%r (gave up after a retry)", task.name, args)
                return
            logger.warning("feedback: enqueueing %s%r failed; retrying once", task.name, args, exc_info=True)
            time.sleep(_PUBLISH_RETRY_DELAY_S)


def feedback_publish_in_background(task, *args) -> None:
    """``task.delay(*args)`` on feedback's publisher thread (never blocks the caller)."""
    try:
        _publish_pool().submit(_publish, task, *args)
    except RuntimeError:  # interpreter shutting down: publish here rather than lose it
        _publish(task, *args)


def _on_turn_stored(sender=None, *, turn_id: int, session_id: int, **kwargs) -> None:
    from feedback.tasks import live_assess_turn
    from simulations.models import Turn

    # Every trainee turn is assessed (exam and hint-free sessions too: the
    # debrief needs it); the task decides whether to push hints.
    if Turn.objects.filter(pk=turn_id, speaker=Turn.Speaker.TRAINEE).exists():
        transaction.on_commit(lambda: feedback_publish_in_background(live_assess_turn, turn_id))


def _on_session_ended(sender=None, *, session_id: int, **kwargs) -> None:
    from feedback.tasks import live_assess_session_rest

    # Same thread as the turns' tasks: published after every turn announced before it.
    transaction.on_commit(lambda: feedback_publish_in_background(live_assess_session_rest, session_id))


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


turn_stored.connect(_on_turn_stored, dispatch_uid="feedback.live_assess_turn")
session_ended.connect(_on_session_ended, dispatch_uid="feedback.live_assess_session_rest")
worker_ready.connect(_warm_assessors, dispatch_uid="feedback.warm_assessors", weak=False)
