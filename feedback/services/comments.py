"""Instructors' comments on a session's turns."""

from __future__ import annotations

from feedback.models import TurnComment
from simulations.models import Turn

MAX_COMMENT_CHARS = 2000


class CommentError(ValueError):
    """The comment cannot be stored as given (the message says why)."""


def turn_comment_add(*, turn: Turn, author, text: str) -> TurnComment:
    """Store a comment on the turn, stamped with when the turn was said (seconds into the session)."""
    text = (text or "").strip()
    if not text:
        raise CommentError("Write a comment before saving it.")
    if len(text) > MAX_COMMENT_CHARS:
        raise CommentError(f"A comment may be at most {MAX_COMMENT_CHARS} characters (this one has {len(text)}).")
    session = turn.session
    at = max(0.0, (turn.created_at - session.started_at).total_seconds()) if turn.created_at and session.started_at else 0.0
    return TurnComment.objects.create(session=session, turn=turn, author=author, text=text, at_seconds=round(at, 1))
