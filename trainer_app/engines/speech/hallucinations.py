"""Remove text the recognizer produced without speech under it (Whisper hallucinations).

Whisper, given silence or noise, invents fluent text ("Thank you for watching!") and can loop
on a phrase. We drop segments that VAD says are not speech, that are empty or punctuation,
that are known stock phrases, or whose own confidence says "no speech"; and collapse loops.
"""

from __future__ import annotations

import re
import string
import zlib
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
VERY_LOW_LOGPROB = -1.5  # alone, without the no-speech signal: text the recognizer hardly believes
MAX_COMPRESSION_RATIO = 2.4  # whisper's own threshold for a degenerate (looping) decode
MAX_LOOP_SHARE = 0.75  # three words in four are loop repeats: the segment is the loop (else the loop is collapsed)


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s'.]", " ", text.lower())).strip(" .")


def text_is_empty(*, text: str) -> bool:
    """True for text without a single letter or digit (punctuation, ♪, U+FFFD from broken bytes)."""
    return not any(ch.isalnum() for ch in text)


def text_is_known_hallucination(*, text: str) -> bool:
    norm = _normalize(text)
    return any(phrase in norm for phrase in KNOWN_PHRASES)


def tokens_collapse_loops(*, tokens: list[str], max_repeats: int = MAX_REPEATS, max_n: int = 6) -> list[int]:
    """Indices of `tokens` kept when any n-gram repeated more than `max_repeats` times in a row is
    collapsed to one occurrence."""
    keep = list(range(len(tokens)))
    norm = [t.lower().strip(string.punctuation) for t in tokens]
    changed = True
    while changed:
        changed = False
        for n in range(1, max_n + 1):
            i = 0
            while i + n <= len(keep):
                gram = [norm[k] for k in keep[i : i + n]]
                j = i + n
                repeats = 1
                while j + n <= len(keep) and [norm[k] for k in keep[j : j + n]] == gram:
                    repeats += 1
                    j += n
                if repeats > max_repeats:
                    keep = keep[: i + n] + keep[j:]
                    changed = True
                i += 1
    return keep


def text_collapse_loops(*, text: str, max_repeats: int = MAX_REPEATS, max_n: int = 6) -> str:
    """Collapse any n-gram repeated more than `max_repeats` times in a row to one occurrence."""
    words = text.split()
    return " ".join(words[k] for k in tokens_collapse_loops(tokens=words, max_repeats=max_repeats, max_n=max_n))


def _overlap(*, start: float, end: float, regions: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(end, r_end) - max(start, r_start)) for r_start, r_end in regions)


def text_loop_share(*, text: str) -> float:
    """Fraction of the words that are n-gram loop repeats (0 for none)."""
    n_words = len(text.split())
    if not n_words:
        return 0.0
    return 1.0 - len(text_collapse_loops(text=text).split()) / n_words


def segment_hallucination_reason(
    *, segment: AsrSegment, speech_regions: list[tuple[float, float]], previous_text: str = ""
) -> str:
    """Why this segment is not speech ("" when it is kept). Checked in order; the first reason wins."""
    duration = max(segment.end - segment.start, 1e-3)
    if text_is_empty(text=segment.text):
        return "no words (empty or punctuation only)"
    if _overlap(start=segment.start, end=segment.end, regions=speech_regions) / duration < MIN_SPEECH_OVERLAP:
        return "no speech under it"
    if text_is_known_hallucination(text=segment.text):
        return "known hallucination phrase"
    if (
        segment.no_speech_prob is not None
        and segment.avg_logprob is not None
        and segment.no_speech_prob > NO_SPEECH_PROB
        and segment.avg_logprob < LOW_LOGPROB
    ):
        return "recognizer reports no speech"  # whisper's own silence rule
    ratio = text_compression_ratio(text=segment.text)
    if segment.compression_ratio is not None and ratio > MAX_COMPRESSION_RATIO:
        # Judged on the text after loop collapse (whisper's own figure is for the raw decode, which a
        # collapsed loop no longer is): only text that is still degenerate goes.
        return f"repetitive text (compression ratio {ratio:.1f})"
    if segment.avg_logprob is not None and segment.avg_logprob < VERY_LOW_LOGPROB:
        return f"recognizer unsure (average log-probability {segment.avg_logprob:.2f})"
    if len(segment.text.split()) >= 8 and text_loop_share(text=segment.text) > MAX_LOOP_SHARE:
        return "repeated n-gram loop"
    if previous_text and len(segment.text.split()) >= 3 and _normalize(previous_text) == _normalize(segment.text):
        return "repeats the previous segment"
    return ""


def segments_remove_hallucinations(
    *, segments: list[AsrSegment], speech_regions: list[tuple[float, float]]
) -> tuple[list[AsrSegment], list[tuple[AsrSegment, str]]]:
    """Return (kept segments, [(dropped segment, reason)])."""
    kept: list[AsrSegment] = []
    dropped: list[tuple[AsrSegment, str]] = []
    for original in segments:
        # Loops collapse first (the words said before a decode looped are real); the rules then judge what is left.
        segment = original
        collapsed = text_collapse_loops(text=original.text)
        if collapsed != original.text:
            segment = replace(original, text=collapsed, words=_words_collapse_loops(words=original.words))
        reason = segment_hallucination_reason(
            segment=segment, speech_regions=speech_regions, previous_text=kept[-1].text if kept else ""
        )
        if reason:
            dropped.append((original, reason))
            continue
        kept.append(segment)
    return kept, dropped


def text_compression_ratio(*, text: str) -> float:
    """Whisper's degenerate-decode measure: bytes of the text over bytes of its zlib compression."""
    data = text.strip().encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _words_collapse_loops(*, words: tuple) -> tuple:
    """The same collapse on the timed words, so they keep matching the text."""
    return tuple(words[k] for k in tokens_collapse_loops(tokens=[w.text for w in words]))
