"""The session review's additions: persona state over time, voice recordings and instructor comments per turn."""

from __future__ import annotations

from dataclasses import dataclass, field

from feedback.cohort_charts import PersonaChart, persona_state_chart
from feedback.models import TurnComment
from simulations.models import PracticeSession, VoiceClip


@dataclass
class ReviewExtras:
    persona_chart: PersonaChart | None
    clips: dict[int, VoiceClip] = field(default_factory=dict)  # turn id -> clip
    comments: dict[int, list[TurnComment]] = field(default_factory=dict)  # turn id -> comments, oldest first


def session_comments(*, session_id: int) -> dict[int, list[TurnComment]]:
    out: dict[int, list[TurnComment]] = {}
    for comment in TurnComment.objects.filter(session_id=session_id).select_related("author", "turn").order_by("at_seconds", "id"):
        out.setdefault(comment.turn_id, []).append(comment)
    return out


def turn_comments(*, turn_id: int) -> list[TurnComment]:
    return list(TurnComment.objects.filter(turn_id=turn_id).select_related("author", "turn").order_by("id"))


def session_review_extras(*, session: PracticeSession) -> ReviewExtras:
    """Two queries: the session's voice clips and its comments. The persona history is on the session."""
    clips = {c.turn_id: c for c in VoiceClip.objects.filter(session=session).exclude(turn=None)}
    history = list((session.persona_state or {}).get("history") or [])
    return ReviewExtras(persona_chart=persona_state_chart(history=history), clips=clips,
                        comments=session_comments(session_id=session.pk))


def voice_clip_for_turn(*, session: PracticeSession, turn_id: int) -> VoiceClip | None:
    return VoiceClip.objects.filter(session=session, turn_id=turn_id).first()
