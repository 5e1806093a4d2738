"""What a page that (re)connects may have missed while it was away, rebuilt from the database.

Pushes travel through the channel layer and are not kept: a page that was disconnected (a
network drop, a Redis restart, a web process restarted) misses what was pushed meanwhile —
a reply that finished, live feedback. On (re)connect the page says which trainee turn it last
saw answered (``{"type": "sync", "after": id}``); the consumer answers with these events once
its group subscription is known to be active, so nothing falls between the two (see
``PracticeSessionConsumer.session_sync``). The page drops what it already shows.

Other apps add their own events for the turns (feedback: live feedback) by receiving
``simulations.events.session_catch_up``; simulations never imports them."""

from __future__ import annotations

import logging

from simulations.events import session_catch_up
from simulations.models import Turn
from simulations.services import session_events

logger = logging.getLogger(__name__)

CATCH_UP_TURNS_MAX = 20  # trainee turns re-sent at most (the newest); older ones need a reload


def session_catch_up_events(*, session_id: int, after_turn_id: int) -> list[dict]:
    """Echo, stored reply and other apps' events for the trainee turns from ``after_turn_id`` on
    (that turn included: its reply was seen, its feedback may not have been), oldest first."""
    turns = list(
        Turn.objects.filter(session_id=session_id, speaker=Turn.Speaker.TRAINEE, pk__gte=after_turn_id)
        .order_by("-index")[:CATCH_UP_TURNS_MAX]
    )[::-1]
    if not turns:
        return []
    replies = {r.reply_to_id: r for r in Turn.objects.filter(session_id=session_id, reply_to__in=turns)}
    events: list[dict] = []
    for turn in turns:
        events.append(session_events.turn_event(turn=turn))
        if turn.pk in replies:
            events.append(session_events.reply_done_event(reply=replies[turn.pk]))
    for receiver, extra in session_catch_up.send_robust(sender=None, session_id=session_id, turns=turns):
        if isinstance(extra, Exception):  # one app's failure must not cost the page the rest
            logger.error("session %s catch-up: %r failed: %r", session_id, receiver, extra)
        elif extra:
            events.extend(extra)
    return events
