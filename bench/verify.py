"""What became of every turn a load bench sent: stored once, answered once, pushed back,
its live feedback shown. Pure: the caller reads the rows and the pages' pushes.

A turn refused with a visible error (``overloaded``, ``busy``, ...) was never meant to be
stored: it is counted among the errors, not among the lost turns."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

Key = tuple[int, str]  # (session id, client id)


@dataclass
class TurnAudit:
    sent: int = 0
    refused: int = 0  # a visible error said so; the page kept the text
    lost: list[dict] = field(default_factory=list)  # one entry per turn, with every reason
    reasons: Counter = field(default_factory=Counter)
    feedback_missing: list[Key] = field(default_factory=list)  # accepted turns whose feedback never reached the page

    @property
    def lost_n(self) -> int:
        return len(self.lost)


def turns_audit(
    *,
    sent: list[Key],
    refused: set[Key],
    stored: list[tuple[int, str, int]],
    reply_to: list[int],
    echoed: dict[Key, int],
    reply_done: set[int],
    feedback_shown: set[int],
) -> TurnAudit:
    """``sent``: every turn the pages sent; ``refused``: those answered with an error;
    ``stored``: (session id, client id, turn id) of every trainee turn row; ``reply_to``:
    the ``reply_to`` id of every persona reply row; ``echoed``: the turn id each page was
    told for its client id; ``reply_done`` / ``feedback_shown``: trainee turn ids whose
    reply-done / feedback push reached the page."""
    rows: dict[Key, list[int]] = {}
    for session_id, client_id, turn_id in stored:
        rows.setdefault((session_id, client_id), []).append(turn_id)
    answers = Counter(reply_to)
    audit = TurnAudit(sent=len(sent))
    for key in sent:
        if key in refused:
            audit.refused += 1
            continue
        ids = rows.get(key, [])
        why = []
        if not ids:
            why.append("not stored")
        elif len(ids) > 1:
            why.append("stored more than once")
        replies = sum(answers[turn_id] for turn_id in ids)
        if ids and replies == 0:
            why.append("no stored reply")
        elif replies > 1:
            why.append("answered more than once")
        pushed_id = echoed.get(key)
        if pushed_id is None:
            why.append("no echo push")
        elif pushed_id not in reply_done:
            why.append("no reply-done push")
        if why:
            audit.lost.append({"session": key[0], "client_id": key[1], "why": why,
                               "rows": len(ids), "replies": replies})
            audit.reasons.update(why)
        if pushed_id is None or pushed_id not in feedback_shown:
            audit.feedback_missing.append(key)
    return audit
