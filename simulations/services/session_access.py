"""Open session pages lose access as soon as it is withdrawn.

A page watching a session (an instructor) keeps its websocket open for as long
as the page is open; access is checked on connect. When a cohort changes
(members removed or cleared, owner changed, cohort deleted), every session of
the trainees concerned is sent ``session.access_check`` after commit; each
socket on it re-checks its user's access and closes with a visible reason when
it is gone (``PracticeSessionConsumer.session_access_check``).
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models.signals import m2m_changed, post_save, pre_delete

from simulations.events import session_group_name
from simulations.models import PracticeSession
from trainer_app.models import Cohort

logger = logging.getLogger(__name__)


def _send_checks(session_ids: list[int]) -> None:
    layer = get_channel_layer()
    for session_id in session_ids:
        try:
            async_to_sync(layer.group_send)(session_group_name(session_id), {"type": "session.access_check"})
        except Exception:
            logger.exception("could not ask session %s's pages to re-check access", session_id)


def session_access_recheck(*, trainee_ids) -> None:
    """After commit: every open page on these trainees' sessions re-checks its access."""
    trainee_ids = {t for t in trainee_ids if t is not None}
    if not trainee_ids:
        return
    session_ids = list(PracticeSession.objects.filter(trainee_id__in=trainee_ids).values_list("pk", flat=True))
    if session_ids:
        transaction.on_commit(lambda: _send_checks(session_ids))


def _members_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action == "pre_clear":
        # The members are gone by post_clear: remember who they were.
        instance._access_members_before_clear = (
            [instance.pk] if reverse else list(instance.members.values_list("pk", flat=True))
        )
    elif action == "post_clear":
        before = getattr(instance, "_access_members_before_clear", [])
        session_access_recheck(trainee_ids=[instance.pk] if reverse else before)
    elif action == "post_remove":
        session_access_recheck(trainee_ids=[instance.pk] if reverse else pk_set or [])


def _cohort_saved(sender, instance: Cohort, created: bool, **kwargs) -> None:
    if not created:  # the owner may have changed
        session_access_recheck(trainee_ids=instance.members.values_list("pk", flat=True))


def _cohort_deleting(sender, instance: Cohort, **kwargs) -> None:
    session_access_recheck(trainee_ids=list(instance.members.values_list("pk", flat=True)))


def session_access_signals_connect() -> None:
    """Wired once in SimulationsConfig.ready()."""
    m2m_changed.connect(_members_changed, sender=Cohort.members.through, dispatch_uid="simulations.access_members")
    post_save.connect(_cohort_saved, sender=Cohort, dispatch_uid="simulations.access_cohort_saved")
    pre_delete.connect(_cohort_deleting, sender=Cohort, dispatch_uid="simulations.access_cohort_deleted")
