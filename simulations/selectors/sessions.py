"""Reads for a practice session after it has started: who may see it, its turns,
what is awaiting a reply, and the persona state over time (instructors only)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from simulations.cognitive_model import DISCLOSURE_LEVELS
from simulations.models import PracticeSession, Turn
from simulations.selectors.turn_statements import turn_rows_in_order
from trainer_app.roles import user_can_view_trainee, user_is_instructor


@dataclass(frozen=True)
class SessionAccess:
    session: PracticeSession
    can_write: bool  # the session's trainee; everyone else who may see it reads only
    sees_persona_state: bool  # instructors and admins; never the trainee


def practice_session_access(*, user, session_id: int) -> SessionAccess | None:
    """None when the user may not see the session at all (callers answer 404:
    do not confirm that someone else's session exists)."""
    if not user.is_authenticated:
        return None
    session = (
        PracticeSession.objects.select_related("scenario_version", "scenario_version__scenario", "trainee")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        return None
    if session.trainee_id == user.pk:
        return SessionAccess(session=session, can_write=True, sees_persona_state=False)
    if user_is_instructor(user=user) and user_can_view_trainee(user=user, trainee_id=session.trainee_id):
        return SessionAccess(session=session, can_write=False, sees_persona_state=True)
    return None


def session_turns(*, session_id: int) -> QuerySet[Turn]:
    return Turn.objects.filter(session_id=session_id).order_by("index")


def turn_history_for_engine(*, session_id: int, before_index: int) -> list[dict]:
    """Earlier turns, oldest first, in the persona engine's history shape."""
    rows = Turn.objects.filter(session_id=session_id, index__lt=before_index).order_by("index")
    return [{"speaker": speaker, "text": text} for speaker, text in rows.values_list("speaker", "text")]


def turn_history_with_later_trainee_turn(*, session_id: int, index: int) -> tuple[list[dict], bool]:
    """``turn_history_for_engine(before_index=index)``, and whether a trainee turn after ``index``
    exists, in one query (perf: the reply job asks both for the turn it has just claimed).

    perf: plain SQL (``turn_statements``): the ORM spent ~0.25 ms of CPU compiling this query every
    reply, the read itself ~0.04 ms."""
    rows = turn_rows_in_order(session_id=session_id)
    history, later = [], False
    for row_index, speaker, text in rows:
        if row_index < index:
            history.append({"speaker": speaker, "text": text})
        elif row_index > index and speaker == Turn.Speaker.TRAINEE:
            later = True
    return history, later


def turn_awaiting_reply(*, session_id: int) -> Turn | None:
    """The latest trainee turn when it has no reply yet (earlier unanswered ones
    were overtaken: the persona answers what was said last)."""
    # perf: one query (the reply's existence as a subquery). A text turn's reply job is handed the turn it
    # claimed and asks this only when a later trainee turn came (``turn_history_with_later_trainee_turn``).
    latest = (
        Turn.objects.filter(session_id=session_id, speaker=Turn.Speaker.TRAINEE)
        .annotate(answered=Exists(Turn.objects.filter(reply_to_id=OuterRef("pk"))))
        .order_by("-index")
        .first()
    )
    if latest is None or latest.answered:
        return None
    return latest


def practice_sessions_for_trainee(*, user, limit: int = 10) -> QuerySet[PracticeSession]:
    return (
        PracticeSession.objects.filter(trainee=user)
        .select_related("scenario_version__scenario")
        .order_by("-started_at")[:limit]
    )


def persona_state_timeline(*, session_id: int) -> list[dict]:
    """Trust, disclosure level and mood after each trainee turn (instructors only;
    the state holds no facts, only numbers and labels)."""
    rows = []
    for turn in Turn.objects.filter(session_id=session_id, speaker=Turn.Speaker.TRAINEE).order_by("index"):
        state = turn.state_after or {}
        if not state:
            continue
        level = int(state.get("level", 0))
        rows.append(
            {
                "turn_index": turn.index,
                "trust": float(state.get("trust", 0.0)),
                "level": DISCLOSURE_LEVELS[level] if 0 <= level < len(DISCLOSURE_LEVELS) else str(level),
                "mood": state.get("mood", ""),
            }
        )
    return rows


def session_voice_hint(*, session: PracticeSession) -> dict:
    """The persona's speech-synthesis hint (lang, gender, pitch, rate); safe for the browser."""
    voice = (session.scenario_version.persona_data or {}).get("voice") or {}
    return {k: voice[k] for k in ("lang", "gender", "pitch", "rate") if k in voice}
