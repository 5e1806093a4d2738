"""Pure pieces of the recording pipeline (no database, no models): word times,
speakers linked across the parts of a long recording, words and segments
given to diarized speakers, and the removal reasons that need the diarization."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

# A segment whose voice is further than this (cosine) from every diarized speaker is not theirs.
VOICE_MATCH_MIN = 0.45
VOICE_CHECK_MIN_S = 1.0  # shorter stretches give unreliable voice vectors: not checked
LINK_MIN_SIMILARITY = 0.7  # two parts' speakers with centroids this close are one person
MIN_TURN_OVERLAP = 0.2  # fraction of a segment that must lie in some diarized turn


class TimedWord(NamedTuple):
    start: float
    end: float
    text: str
    probability: float | None = None


def words_spread(*, start: float, end: float, text: str) -> tuple[TimedWord, ...]:
    """Word times for a recognizer that gives none: the segment's span shared by word length."""
    tokens = text.split()
    if not tokens:
        return ()
    weights = np.array([len(t) + 1 for t in tokens], dtype=float)
    edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    return tuple(TimedWord(float(edges[i]), float(edges[i + 1]), tok) for i, tok in enumerate(tokens))


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    denom = float(np.linalg.norm(a) * np.linalg.norm(b)) or 1.0
    return float(np.dot(a, b) / denom)


def speakers_link_parts(
    *, parts: list[tuple[list[tuple[float, float, str]], dict[str, np.ndarray]]], min_similarity: float = LINK_MIN_SIMILARITY
) -> tuple[list[tuple[float, float, str]], dict[str, np.ndarray]]:
    """Join the diarizations of consecutive parts into one: each part's speaker becomes the
    global speaker with the closest centroid (one-to-one per part), or a new one.

    Returns (turns with global labels SPEAKER_00..., one centroid per global speaker)."""
    global_centroids: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    turns: list[tuple[float, float, str]] = []
    for part_turns, centroids in parts:
        mapping: dict[str, str] = {}
        taken: set[str] = set()
        pairs = sorted(
            ((_cosine(vec, g), local, label) for local, vec in centroids.items() for label, g in global_centroids.items()),
            reverse=True,
        )
        for similarity, local, label in pairs:
            if similarity < min_similarity or local in mapping or label in taken:
                continue
            mapping[local] = label
            taken.add(label)
        for local in sorted({t[2] for t in part_turns} | set(centroids)):
            if local not in mapping:
                mapping[local] = f"SPEAKER_{len(global_centroids):02d}"
                global_centroids[mapping[local]] = np.zeros(0, dtype=np.float32)
                counts[mapping[local]] = 0
        for local, vec in centroids.items():
            label = mapping[local]
            n = counts[label]
            old = global_centroids[label]
            merged = vec if n == 0 or old.size == 0 else (old * n + vec) / (n + 1)
            norm = float(np.linalg.norm(merged)) or 1.0
            global_centroids[label] = (merged / norm).astype(np.float32)
            counts[label] = n + 1
        turns.extend((s, e, mapping[sp]) for s, e, sp in part_turns)
    turns.sort()
    return turns, {k: v for k, v in global_centroids.items() if v.size}


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def word_speaker(*, start: float, end: float, turns: list[tuple[float, float, str]], reach_s: float = 0.5) -> str | None:
    """The speaker whose turns cover most of the word; else the nearest turn within `reach_s`."""
    best, best_overlap = None, 0.0
    for t0, t1, speaker in turns:
        if t0 > end + reach_s:
            break
        ov = _overlap(start, end, t0, t1)
        if ov > best_overlap:
            best, best_overlap = speaker, ov
    if best is not None:
        return best
    mid = (start + end) / 2
    nearest = min(turns, key=lambda t: min(abs(mid - t[0]), abs(mid - t[1])), default=None)
    if nearest is not None and min(abs(mid - nearest[0]), abs(mid - nearest[1])) <= reach_s:
        return nearest[2]
    return None


@dataclass
class SpeakerPiece:
    start: float
    end: float
    speaker: str | None
    words: list[TimedWord]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def segment_split_by_speaker(*, words: tuple[TimedWord, ...] | list[TimedWord], turns: list[tuple[float, float, str]]) -> list[SpeakerPiece]:
    """Cut a recognizer segment where the diarized speaker changes between its words."""
    pieces: list[SpeakerPiece] = []
    for word in words:
        speaker = word_speaker(start=word.start, end=word.end, turns=turns)
        if pieces and (speaker == pieces[-1].speaker or speaker is None):
            pieces[-1].words.append(word)
            pieces[-1].end = word.end
        else:
            if pieces and pieces[-1].speaker is None and not pieces[-1].words[1:]:
                pieces[-1].speaker = speaker  # a leading unattributed word joins the first speaker
                pieces[-1].words.append(word)
                pieces[-1].end = word.end
                continue
            pieces.append(SpeakerPiece(start=word.start, end=word.end, speaker=speaker, words=[word]))
    return pieces


def turn_coverage(*, start: float, end: float, turns: list[tuple[float, float, str]]) -> float:
    """Fraction of [start, end] that lies inside some diarized turn."""
    total = sum(_overlap(start, end, t0, t1) for t0, t1, _ in turns)
    return min(1.0, total / max(end - start, 1e-3))


def voice_mismatch_reason(*, vector: np.ndarray | None, centroids: dict[str, np.ndarray], min_similarity: float = VOICE_MATCH_MIN) -> str:
    """A removal reason when the segment's voice is like none of the diarized speakers ("" otherwise)."""
    if vector is None or not centroids:
        return ""
    best = max(_cosine(vector, c) for c in centroids.values())
    if best < min_similarity:
        return f"voice matches no diarized speaker (best similarity {best:.2f})"
    return ""
