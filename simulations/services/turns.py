"""Storing a trainee's turn (text or transcribed voice): one path for both.

The turn is committed, and turn_stored announced, before any reply is
generated; a resend with the same client id returns the stored turn.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.db import IntegrityError, transaction

from simulations.events import turn_stored_announce
from simulations.models import PracticeSession, Turn
from simulations.selectors.turn_statements import turn_id_for_client_id, turn_index_max
from simulations.services.generations import generation_beat, generation_is_stale, generation_live
from trainer_app.outages import OUTAGE_ERRORS, outage_warn

logger = logging.getLogger(__name__)


class TurnRejected(Exception):  # noqa: N818 - reads as what happened to the turn
    """A turn that cannot be stored; ``message`` is shown to the trainee as is."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def chat_rate_limit_hit(*, user_id: int) -> bool:
    """Count one message for the user in the current minute; True when over the limit.

    In the Django cache so it holds across connections (and, with a shared
    cache, across web nodes). With the shared cache (Redis) down, this process
    counts on its own: still a limit, and a turn or voice clip is not refused
    (or answered with a 500) because a counter is out of reach."""
    key = f"chat-rate:{user_id}:{int(time.time() // 60)}"
    try:
        count = _count(cache, key)
    except OUTAGE_ERRORS as exc:
        outage_warn(what="chat rate limit (counting in this process)", exc=exc, log=logger)
        count = _count(_local_counts, key)
    return count > settings.CHAT_RATE_LIMIT_PER_MINUTE


_local_counts = LocMemCache("chat-rate-fallback", {"TIMEOUT": 120, "OPTIONS": {"MAX_ENTRIES": 10000}})


def _count(counter, key: str) -> int:
    counter.add(key, 0, timeout=120)
    try:
        return counter.incr(key)
    except ValueError:  # expired between add and incr
        counter.set(key, 1, timeout=120)
        return 1


def turn_next_index(*, session_id: int) -> int:
    """perf: plain SQL (``turn_statements``), asked twice a turn (the turn, its reply)."""
    current = turn_index_max(session_id=session_id)
    return 0 if current is None else current + 1


BUSY_MESSAGE = "Your partner is still answering your last message. Send this one once their reply has arrived."


def _claim_is_live(*, session_id: int, turn_id: int) -> bool:
    """Held by a generation of this process (known from its registry, even while it is still
    computing the persona state), or elsewhere with a recent heartbeat."""
    live = generation_live(session_id=session_id)
    if live is not None and live.turn_id == turn_id:
        return True
    meta = Turn.objects.filter(pk=turn_id).values_list("meta", flat=True).first()
    return not generation_is_stale(turn=Turn(meta=meta or {}))


def trainee_turn_submit(
    *, session_id: int, text: str, client_id: str, source: str = Turn.Source.TEXT, meta: dict | None = None,
    claim: bool = False,
) -> tuple[Turn, bool]:
    """Store the trainee's turn once per client id: (turn, created).

    ``claim``: also claim the session's generation slot for the new turn, in the same
    transaction (the reply runner then generates without another write). A turn sent
    while a reply is still being generated is refused ("busy"), never merged with the
    one being answered: each message gets its own reply, in order."""
    text = (text or "").strip()
    if not text:
        raise TurnRejected("empty", "Type a message before sending.")
    if client_id:
        existing_id = turn_id_for_client_id(session_id=session_id, client_id=client_id)  # perf: plain SQL
        if existing_id is not None:
            return Turn.objects.get(pk=existing_id), False
    try:
        with transaction.atomic():
            # Row lock (PostgreSQL; SQLite's IMMEDIATE transaction already serialises)
            # so two turns of one session never take the same index.
            # live_feedback and exam: for turn_recorded's subscribers (feedback's outbox row), which would
            # otherwise read the row again (perf: one statement less per turn).
            session = (
                PracticeSession.objects.select_for_update()
                .only("status", "generating_for_turn", "live_feedback", "exam")
                .get(pk=session_id)
            )
            if session.status != PracticeSession.Status.ACTIVE:
                raise TurnRejected("ended", "This session has ended; start a new one to keep practising.")
            if claim:
                if session.generating_for_turn_id is not None and _claim_is_live(
                    session_id=session_id, turn_id=session.generating_for_turn_id
                ):
                    raise TurnRejected("busy", BUSY_MESSAGE)
                meta = {**(meta or {}), "generation": generation_beat()}
            turn = Turn.objects.create(
                session_id=session_id,
                index=turn_next_index(session_id=session_id),
                speaker=Turn.Speaker.TRAINEE,
                text=text,
                source=source,
                client_id=client_id,
                meta=meta or {},
            )
            if claim:
                PracticeSession.objects.filter(pk=session_id).update(generating_for_turn=turn)
            turn_stored_announce(turn_id=turn.pk, session_id=session_id, speaker=turn.speaker, session=session)
    except IntegrityError:
        # The same client id raced in from another connection: that one won.
        existing = Turn.objects.filter(session_id=session_id, client_id=client_id).first()
        if existing is None:
            raise
        return existing, False
    return turn, True
