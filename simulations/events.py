"""Events simulations announces; feedback (and anything else) subscribes.

simulations never imports feedback. Signals are sent after the transaction that
stored the data commits, so subscribers (which usually enqueue Celery tasks)
always find the rows they are told about; the one exception, ``turn_recorded``,
is sent inside that transaction so a subscriber can record durable intent
(an outbox row) that commits with the turn.

Pushing to the session page: any process may send to the session's channel
layer group with ``session_push`` below; the session consumer forwards the
rendered HTML (htmx out-of-band swaps keyed by stable element ids).
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.dispatch import Signal

# sender=None, turn_id=int, session_id=int, speaker=str | None, session=PracticeSession | None. Sent INSIDE the
# transaction that stores the turn: receivers only write rows that must commit (or roll back) with it (e.g.
# feedback's outbox row). ``session``: the session's row as that transaction read it (its flags, e.g.
# ``live_feedback`` and ``exam``, loaded), so a receiver need not read it again; None when not at hand.
turn_recorded = Signal()
# sender=None, turn_id=int, session_id=int. Sent after that transaction commits.
turn_stored = Signal()
# sender=None, session_id=int
session_ended = Signal()
# sender=None, session_id=int, turns=[Turn] (trainee turns, oldest first). A page (re)connected and may
# have missed pushes about these turns: receivers return the push events ({"kind", "html", "data"})
# to send it again (simulations.services.session_catch_up); the page drops duplicates.
session_catch_up = Signal()


def session_group_name(session_id: int) -> str:
    return f"practice-session-{session_id}"


def turn_stored_announce(*, turn_id: int, session_id: int, speaker: str | None = None, session=None) -> None:
    """Call inside the transaction that stores the turn (``speaker`` and ``session``: see ``turn_recorded``)."""
    turn_recorded.send(sender=None, turn_id=turn_id, session_id=session_id, speaker=speaker, session=session)
    transaction.on_commit(lambda: turn_stored.send(sender=None, turn_id=turn_id, session_id=session_id))


def session_ended_announce(*, session_id: int) -> None:
    transaction.on_commit(lambda: session_ended.send(sender=None, session_id=session_id))


def session_push(*, session_id: int, html: str, kind: str, data: dict | None = None) -> None:
    """Send rendered HTML (out-of-band swaps) to every page open on the session.

    kind names what it is ("feedback", "transcript", "notice") so the page's
    script can react (e.g. scroll, speak); data carries small JSON extras."""
    from trainer_app.kept_loop import kept_loop_enabled, kept_loop_run

    message = {"type": "session.push", "kind": kind, "html": html, "data": data or {}}
    if kept_loop_enabled():
        # A worker: on its kept event loop (async_to_sync made a loop, a thread and a layer connection per push).
        kept_loop_run(lambda: get_channel_layer().group_send(session_group_name(session_id), message))
    else:
        async_to_sync(get_channel_layer().group_send)(session_group_name(session_id), message)
