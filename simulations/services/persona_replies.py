"""Generating the persona's reply to a trainee turn: one path for the web
consumer (text turns) and the Celery worker (voice turns).

Synchronous on purpose: it runs in a worker thread (the consumer's executor) or
a Celery task, never in the event loop. Everything it shows goes through
``push(event)`` (see session_events): the consumer's push hands events to the
event loop, which sends them to the session's group; the worker's push sends
them to the same group through the channel layer.

One generation per session: a conditional UPDATE on
``PracticeSession.generating_for_turn`` claims it; storing the reply is
conditional on still holding the claim, so ending the session (which clears
it) cancels a generation, and a reply is never stored twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import transaction
from django.db.models import Exists, Q

from simulations.models import PracticeSession, Turn
from simulations.personas.engines.base import PersonaEngineUnavailable
from simulations.personas.selection import persona_engine_for
from simulations.personas.signals import utterance_signals
from simulations.personas.state import PersonaState, persona_state_initial, persona_state_update
from simulations.personas.topics import persona_topic_match
from simulations.personas.vectors import text_vectors
from simulations.selectors.scenario_versions import scenario_version_cached
from simulations.selectors.sessions import (
    turn_awaiting_reply,
    turn_history_for_engine,
    turn_history_with_later_trainee_turn,
)
from simulations.services import session_events
from simulations.services.generations import (
    HEARTBEAT_S,
    LiveGeneration,
    generation_beat,
    generation_is_stale,
    generation_live,
    generation_register,
    generation_unregister,
)
from simulations.services.turns import turn_next_index

logger = logging.getLogger(__name__)

Push = Callable[[dict], None]

UNREACHABLE_MESSAGE = (
    "The simulated partner is unreachable right now — your message is saved; try again in a moment."
)
FALLBACK_MESSAGE = (
    "The AI partner's server is unreachable right now, so the scripted partner answered this turn. "
    "The session carries on; the AI partner returns when its server is back."
)
CLAIM_CHECK_S = 0.5  # how often a stream checks it still holds the claim (session ended?)


def _claim(*, session_id: int, turn: Turn, steal_from: int | None) -> bool:
    """Claim the session's one generation slot for ``turn`` (or take over a dead claim):
    one write transaction carrying the claim and its first heartbeat. (A text turn is
    claimed by the transaction that stores it, ``trainee_turn_submit(claim=True)``.)"""
    held = Q(generating_for_turn__isnull=True) if steal_from is None else Q(generating_for_turn_id=steal_from)
    # ...and only while ``turn`` still awaits its reply: a generation that found it
    # awaiting may have answered it (and released the claim) meanwhile.
    answered = Exists(Turn.objects.filter(reply_to_id=turn.pk))
    with transaction.atomic():
        claimed = PracticeSession.objects.filter(
            held, ~answered, pk=session_id, status=PracticeSession.Status.ACTIVE
        ).update(generating_for_turn=turn)
        if claimed:
            turn.meta = {**(turn.meta or {}), "generation": generation_beat()}
            Turn.objects.filter(pk=turn.pk).update(meta=turn.meta)
    return bool(claimed)


def _release(*, session_id: int, turn_id: int) -> None:
    PracticeSession.objects.filter(pk=session_id, generating_for_turn_id=turn_id).update(generating_for_turn=None)


def _trainee_turn_after(*, session_id: int, index: int) -> bool:
    return Turn.objects.filter(session_id=session_id, speaker=Turn.Speaker.TRAINEE, index__gt=index).exists()


def _still_claimed(*, session_id: int, turn_id: int) -> bool:
    return PracticeSession.objects.filter(
        pk=session_id, generating_for_turn_id=turn_id, status=PracticeSession.Status.ACTIVE
    ).exists()


def _state_compute(*, session: PracticeSession, turn: Turn, history: list[dict]) -> tuple[PersonaState, bool]:
    """The persona state after ``turn``, and whether it is new (to be stored with the reply;
    False: already kept on the turn). No writes: the state is stored with the reply, in one
    transaction, so a reply that is cancelled or fails leaves the state as it was."""
    if turn.state_after:
        return PersonaState.from_dict(turn.state_after), False
    version = session.scenario_version
    persona, scenario = version.persona_data, version.scenario_data
    last_persona = next((h["text"] for h in reversed(history) if h["speaker"] == Turn.Speaker.PERSONA), "")
    signals = utterance_signals(text=turn.text, last_persona_text=last_persona)
    before = (
        PersonaState.from_dict(session.persona_state)
        if session.persona_state
        else persona_state_initial(persona=persona, scenario=scenario)
    )
    topic = persona_topic_match(persona=persona, text=turn.text, history=history).name or ""
    state = persona_state_update(state=before, persona=persona, scenario=scenario, signals=signals, topic=topic)
    return state, True


def _reply_vector_warm(text: str, *, persist: bool) -> None:
    """perf: embed the persona's line now, after it was sent, so the next turn's
    signals (reflection against the persona's previous line) find it cached
    instead of embedding it before the next reply can start. ``persist``: an
    authored (scripted) line, kept in the machine's vector store, so another web
    process (or this one after a restart) saying the same text does not embed it
    again; an LLM's free text is not kept there."""
    text = (text or "").strip()
    if text:
        try:
            text_vectors(texts=[text], persist=persist)
        except Exception:  # only a cache fill: the next turn embeds it itself
            logger.debug("reply vector warm-up failed", exc_info=True)


def _store_reply(
    *, session_id: int, turn: Turn, text: str, state: PersonaState, state_is_new: bool, engine_name: str
) -> Turn | None:
    """Store the reply, the persona state after ``turn`` and release the claim: one short
    transaction, whose first statement is the conditional UPDATE that checks the claim is
    still ours (None: the session ended or the claim was taken over meanwhile)."""
    state_data = state.to_dict()
    with transaction.atomic():
        released = PracticeSession.objects.filter(
            pk=session_id, status=PracticeSession.Status.ACTIVE, generating_for_turn_id=turn.pk
        ).update(generating_for_turn=None, engine=engine_name, persona_state=state_data)
        if not released:
            return None
        if state_is_new:
            Turn.objects.filter(pk=turn.pk).update(state_after=state_data)
            turn.state_after = state_data
        reply = Turn.objects.create(
            session_id=session_id,
            index=turn_next_index(session_id=session_id),
            speaker=Turn.Speaker.PERSONA,
            text=text,
            source=Turn.Source.TEXT,
            reply_to=turn,
            state_after=state_data,
            meta={"engine": engine_name},
        )
    return reply


def _stream(
    *, session: PracticeSession, turn: Turn, state: PersonaState, state_is_new: bool, history: list[dict],
    live: LiveGeneration, push: Push,
) -> Turn | None:
    version = session.scenario_version
    engine = persona_engine_for(scenario=version.scenario_data, exam=session.exam)
    push(session_events.reply_start_event(trainee_turn_id=turn.pk))
    offset = 0
    # The claim carries the first heartbeat: a reply done within HEARTBEAT_S writes none,
    # and one done within CLAIM_CHECK_S reads nothing (ending the session in this process
    # sets ``live.cancel``; ``_store_reply`` checks the claim in any case).
    next_check = time.monotonic() + CLAIM_CHECK_S
    # The next beat is due HEARTBEAT_S after the claim's (stored with the claim, before the state
    # was computed): a slow start beats at its first chunk.
    claimed_at = float(((turn.meta or {}).get("generation") or {}).get("beat", 0)) or time.time()
    next_beat = time.monotonic() + max(0.0, claimed_at + HEARTBEAT_S - time.time())
    stream = engine.reply_stream(
        persona=version.persona_data,
        scenario=version.scenario_data,
        state=state,
        history=history,
        trainee_text=turn.text,
        seed=session.seed,
    )
    try:
        for chunk in stream:
            if live.cancel.is_set():
                break
            if not chunk:
                continue
            push(session_events.reply_chunk_event(trainee_turn_id=turn.pk, text=chunk, offset=offset))
            offset += len(chunk)
            live.sent.append(chunk)
            now = time.monotonic()
            if now >= next_check:  # ended from another process (or a worker's reply while the page ends it)?
                next_check = now + CLAIM_CHECK_S
                if not _still_claimed(session_id=session.pk, turn_id=turn.pk):
                    live.cancel.set()
                    break
            if now >= next_beat:
                next_beat = now + HEARTBEAT_S
                Turn.objects.filter(pk=turn.pk).update(meta={**(turn.meta or {}), "generation": generation_beat()})
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()  # stop reading the LLM server when cancelled
    if getattr(engine, "fallback_reason", ""):
        push(session_events.notice_event(message=FALLBACK_MESSAGE, level="warning"))
    text = live.text.strip()
    if live.cancel.is_set() or not text:
        push(session_events.reply_cancelled_event(trainee_turn_id=turn.pk))
        return None
    reply = _store_reply(
        session_id=session.pk, turn=turn, text=text, state=state, state_is_new=state_is_new, engine_name=engine.name
    )
    if reply is None:
        push(session_events.reply_cancelled_event(trainee_turn_id=turn.pk))
        return None
    push(session_events.reply_done_event(reply=reply))
    _reply_vector_warm(reply.text, persist=engine.name.startswith("scripted"))
    return reply


def persona_reply_generate(
    *, session_id: int, push: Push, steal_from: int | None = None, claimed_turn: Turn | None = None,
    live: LiveGeneration | None = None,
) -> Turn | None:
    """Reply to the turn awaiting a reply, then to any turn sent meanwhile (a voice turn).

    ``claimed_turn``: the turn whose claim the caller already holds (stored and
    claimed in one transaction by ``trainee_turn_submit(claim=True)``): no claim write;
    ``live``: its registration in this process's generation registry, made by the caller.
    ``steal_from``: the trainee turn id of a claim presumed dead (reconnect after
    a crash); the claim is taken over only if it is still that one. Returns the
    last reply stored (None when there was nothing to do or it was cancelled).
    """
    last_reply = None
    claimed_turn_id = claimed_turn.pk if claimed_turn is not None else None
    while True:
        history = None
        if claimed_turn is not None:
            # perf: with no trainee turn after it, the turn just stored and claimed is the latest trainee
            # turn, and it awaits its reply while the claim is ours (storing a reply releases the claim
            # in the same transaction; the session check below sees a claim that was released): what
            # ``turn_awaiting_reply`` would read, without its query (~0.8 ms of CPU), found with the
            # history in one query.
            history, later = turn_history_with_later_trainee_turn(session_id=session_id, index=claimed_turn.index)
            turn = claimed_turn
            if later:
                history, turn = None, turn_awaiting_reply(session_id=session_id)
            claimed_turn = None
        else:
            turn = turn_awaiting_reply(session_id=session_id)
        if turn is None:
            if claimed_turn_id is not None:
                _release(session_id=session_id, turn_id=claimed_turn_id)
            return last_reply
        session = PracticeSession.objects.get(pk=session_id)
        # perf: the version (an immutable snapshot) read once per process, not joined and decoded per turn.
        session.scenario_version = scenario_version_cached(version_id=session.scenario_version_id)
        held = claimed_turn_id if claimed_turn_id is not None else steal_from
        if session.status != PracticeSession.Status.ACTIVE or session.generating_for_turn_id != held:
            return last_reply  # someone else is generating (or the session ended): the claim would fail
        if history is None:
            history = turn_history_for_engine(session_id=session_id, before_index=turn.index)
        state, state_is_new = _state_compute(session=session, turn=turn, history=history)
        if not (held is not None and held == turn.pk and claimed_turn_id is not None) and not _claim(
            session_id=session_id, turn=turn, steal_from=held
        ):
            return last_reply  # someone else is generating (or the session ended)
        steal_from = claimed_turn_id = None
        if live is None or live.turn_id != turn.pk:
            live = generation_register(session_id=session_id, turn_id=turn.pk)
        reply, unavailable = None, None
        try:
            reply = _stream(session=session, turn=turn, state=state, state_is_new=state_is_new, history=history,
                            live=live, push=push)
        except PersonaEngineUnavailable as exc:
            unavailable = exc
        finally:
            if reply is None:  # a stored reply released the claim in the same transaction
                _release(session_id=session_id, turn_id=turn.pk)
            generation_unregister(live=live)  # after the release: "live" here means the claim is held
            live = None
        if unavailable is not None:
            # Released before the notice: "Try again" right after it must find the slot free.
            logger.warning("session %s: persona engine unavailable: %s", session_id, unavailable.message)
            push(session_events.reply_cancelled_event(trainee_turn_id=turn.pk))
            push(session_events.notice_event(message=UNREACHABLE_MESSAGE, retry=True))
            return None
        if reply is None:
            return last_reply
        last_reply = reply
        # perf: the usual end, without a query. Only a trainee turn stored after ``turn`` (a voice turn
        # sent meanwhile) can await a reply now (``turn`` itself was just answered). The reply took the
        # index right after ``turn``: none was stored before the reply's transaction, and one stored
        # after it found the claim released and is answered by whoever stored it (the voice task
        # generates after storing; a text turn claims as it is stored). Otherwise a plain EXISTS
        # (~0.2 ms) before ``turn_awaiting_reply``'s query (~0.8 ms).
        if reply.index == turn.index + 1 or not _trainee_turn_after(session_id=session_id, index=turn.index):
            return last_reply


def persona_reply_resume_needed(*, session: PracticeSession) -> tuple[bool, int | None]:
    """On (re)connect: should a reply be (re)generated, and whose dead claim to take over?

    - a generation running in this process: no (the page joins the group and it completes);
    - a claim with a recent heartbeat (another process, e.g. the voice worker): no;
    - a claim presumed dead: yes, taking it over;
    - no claim but a trainee turn awaiting a reply (e.g. the engine was down): no —
      the trainee asks with "Try again" or by sending; not regenerated behind their back.
    """
    if session.status != PracticeSession.Status.ACTIVE or session.generating_for_turn_id is None:
        return False, None
    if generation_live(session_id=session.pk) is not None:
        return False, None
    turn = Turn.objects.filter(pk=session.generating_for_turn_id).first()
    if turn is None:
        return False, None
    if not generation_is_stale(turn=turn):
        return False, None
    return True, turn.pk
