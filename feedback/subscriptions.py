"""Feedback subscribes to simulations events here (wired in FeedbackConfig.ready).

Keep this a list of small registrations; append yours below."""

from feedback import packs as _packs
from feedback.selectors.frameworks import framework_choices, framework_exists
from simulations.packs.registry import pack_section_register

# Scenario packs: frameworks (with exemplars) are feedback's section.
pack_section_register(
    name="frameworks",
    order=10,
    validate=_packs.frameworks_validate,
    import_=_packs.frameworks_import,
    export=_packs.frameworks_export,
    exists=lambda *, slug: framework_exists(slug=slug),
    choices=framework_choices,
)


# --- Live feedback: assess each trainee turn on the realtime queue -----------------------
from celery.signals import worker_ready  # noqa: E402
from django.db import transaction  # noqa: E402

from simulations.events import session_ended, turn_stored  # noqa: E402


def _on_turn_stored(sender=None, *, turn_id: int, session_id: int, **kwargs) -> None:
    from feedback.tasks import live_assess_turn
    from simulations.models import Turn

    # Every trainee turn is assessed (exam and hint-free sessions too: the
    # debrief needs it); the task decides whether to push hints.
    if Turn.objects.filter(pk=turn_id, speaker=Turn.Speaker.TRAINEE).exists():
        transaction.on_commit(lambda: live_assess_turn.delay(turn_id))


def _on_session_ended(sender=None, *, session_id: int, **kwargs) -> None:
    from feedback.tasks import live_assess_session_rest

    transaction.on_commit(lambda: live_assess_session_rest.delay(session_id))


def _warm_assessors(sender=None, **kwargs) -> None:
    # In a background thread: the worker takes tasks (and beats) meanwhile;
    # a turn arriving early waits on the framework's build lock.
    from feedback.services.assessors import assessors_warm_in_background

    assessors_warm_in_background()


turn_stored.connect(_on_turn_stored, dispatch_uid="feedback.live_assess_turn")
session_ended.connect(_on_session_ended, dispatch_uid="feedback.live_assess_session_rest")
worker_ready.connect(_warm_assessors, dispatch_uid="feedback.warm_assessors", weak=False)
