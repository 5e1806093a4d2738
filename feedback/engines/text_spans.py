"""Splitting an utterance into sentences and clauses, as exact substrings,
so evidence quoted back to a trainee is always their own words."""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")
_CLAUSE_BREAK = re.compile(r"[,;:\u2014\u2013]|\s-\s|\s(?:but|and|so|because)\s", re.IGNORECASE)
_MIN_CLAUSE_WORDS = 3


def _trimmed(text: str) -> str:
    return text.strip().strip(",;:-\u2014\u2013").strip()


def sentence_spans(*, text: str) -> list[str]:
    spans = [_trimmed(m.group(0)) for m in _SENTENCE.finditer(text)]
    return [s for s in spans if s]


def clause_spans(*, text: str) -> list[str]:
    """Sentences plus their clauses (pieces of 3+ words), deduplicated, in order.

    Each returned string is a substring of ``text``.
    """
    spans: list[str] = []
    for sentence in sentence_spans(text=text):
        spans.append(sentence)
        pieces = [_trimmed(p) for p in _CLAUSE_BREAK.split(sentence)]
        pieces = [p for p in pieces if len(p.split()) >= _MIN_CLAUSE_WORDS]
        if len(pieces) > 1:
            spans.extend(pieces)
    seen: set[str] = set()
    unique = []
    for span in spans:
        if span not in seen and span in text:
            seen.add(span)
            unique.append(span)
    return unique or ([text.strip()] if text.strip() else [])


def context_tail(*, context: list[dict], max_chars: int = 240) -> str:
    """The last turn before the utterance (what it answers), trimmed."""
    for turn in reversed(context or []):
        if turn.get("after"):
            continue  # turns after the utterance (recording analysis) are not its context
        text = str(turn.get("text", "")).strip()
        if text:
            return text[-max_chars:]
    return ""
