"""Ending a practice session."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from simulations.events import session_ended_announce
from simulations.models import PracticeSession
from simulations.services.generations import generation_cancel


def practice_session_end(*, session_id: int) -> bool:
    """End the session (idempotent): cancels a generation in progress, announces session_ended."""
    with transaction.atomic():
        ended = PracticeSession.objects.filter(pk=session_id, status=PracticeSession.Status.ACTIVE).update(
            status=PracticeSession.Status.ENDED, ended_at=timezone.now(), generating_for_turn=None
        )
        if ended:
            session_ended_announce(session_id=session_id)
    generation_cancel(session_id=session_id)  # this process's stream stops at its next chunk
    return bool(ended)
