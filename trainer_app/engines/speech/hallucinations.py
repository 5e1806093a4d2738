"""Remove text the recognizer produced without speech under it (Whisper hallucinations).

Whisper, given silence or noise, invents fluent text ("Thank you for watching!") and can loop
on a phrase. We drop segments that VAD says are not speech, that are empty or punctuation,
that are known stock phrases, or whose own confidence says "no speech"; and collapse loops.
"""

from __future__ import annotations

import re
import string
from dataclasses import replace
from pathlib import Path

from trainer_app.engines.speech.asr_types import AsrSegment

# Stock phrases from Whisper's subtitle-heavy training data; never said in a role-play.
# One per line in hallucinations.txt beside this module ("Thank you." alone is NOT there: trainees say it).
KNOWN_PHRASES: tuple[str, ...] = tuple(
    line.strip()
    for line in Path(__file__).with_name("hallucinations.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.lstrip().startswith("#")
)
MIN_SPEECH_OVERLAP = 0.2  # fraction of the segment that must lie in a VAD speech region
MAX_REPEATS = 3  # an n-gram repeated more than this many times in a row is a decoding loop
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s'.]", " ", text.lower())).strip(" .")


def text_is_empty(*, text: str) -> bool:
    """True for text without a single letter or digit (punctuation, ♪, U+FFFD from broken bytes)."""
    return not any(ch.isalnum() for ch in text)


def text_is_known_hallucination(*, text: str) -> bool:
    norm = _normalize(text)
    return any(phrase in norm for phrase in KNOWN_PHRASES)


def text_collapse_loops(*, text: str, max_repeats: int = MAX_REPEATS, max_n: int = 6) -> str:
    """Collapse any n-gram repeated more than `max_repeats` times in a row to one occurrence."""
    words = text.split()
    changed = True
    while changed:
        changed = False
        for n in range(1, max_n + 1):
            i = 0
            while i + n <= len(words):
                gram = [w.lower().strip(string.punctuation) for w in words[i : i + n]]
                j = i + n
                repeats = 1
                while j + n <= len(words) and [w.lower().strip(string.punctuation) for w in words[j : j + n]] == gram:
                    repeats += 1
                    j += n
                if repeats > max_repeats:
                    words = words[: i + n] + words[j:]
                    changed = True
                i += 1
    return " ".join(words)


def _overlap(*, start: float, end: float, regions: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(end, r_end) - max(start, r_start)) for r_start, r_end in regions)


def segments_remove_hallucinations(
    *, segments: list[AsrSegment], speech_regions: list[tuple[float, float]]
) -> tuple[list[AsrSegment], list[tuple[AsrSegment, str]]]:
    """Return (kept segments, [(dropped segment, reason)])."""
    kept: list[AsrSegment] = []
    dropped: list[tuple[AsrSegment, str]] = []
    for segment in segments:
        duration = max(segment.end - segment.start, 1e-3)
        reason = ""
        if text_is_empty(text=segment.text):
            reason = "no words (empty or punctuation only)"
        elif _overlap(start=segment.start, end=segment.end, regions=speech_regions) / duration < MIN_SPEECH_OVERLAP:
            reason = "no speech under it"
        elif text_is_known_hallucination(text=segment.text):
            reason = "known hallucination phrase"
        elif (
            segment.no_speech_prob is not None
            and segment.avg_logprob is not None
            and segment.no_speech_prob > NO_SPEECH_PROB
            and segment.avg_logprob < LOW_LOGPROB
        ):
            reason = "recognizer reports no speech"  # whisper's own silence rule
        elif kept and len(segment.text.split()) >= 3 and _normalize(kept[-1].text) == _normalize(segment.text):
            reason = "repeats the previous segment"
        if reason:
            dropped.append((segment, reason))
            continue
        collapsed = text_collapse_loops(text=segment.text)
        kept.append(replace(segment, text=collapsed) if collapsed != segment.text else segment)
    return kept, dropped
