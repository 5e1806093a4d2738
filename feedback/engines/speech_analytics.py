"""Speech analytics per speaker, from timed turns (pure; no database).

Talk time and share, speaking rate, pauses inside a speaker's own speech,
overlaps and interruptions, filler words, longest monologue. Works on any
list of turns with word times: recording segments or voice-session turns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PAUSE_MIN_S = 0.5  # a gap between two words of one speaker this long is a pause
MONOLOGUE_JOIN_S = 2.0  # one speaker's turns closer than this (nobody between) are one monologue
INTERRUPTION_MIN_OVERLAP_S = 0.2
FILLERS = ("um", "uh", "erm", "er", "uhm", "umm", "hmm", "ah", "mm", "you know", "i mean", "sort of", "kind of")
_FILLER_RX = re.compile(r"\b(?:" + "|".join(re.escape(f) for f in sorted(FILLERS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class SpeechTurn:
    speaker: str
    start: float
    end: float
    words: tuple[tuple[float, float, str], ...] = ()
    text: str = ""

    @property
    def word_texts(self) -> list[str]:
        return [w[2] for w in self.words] if self.words else self.text.split()


@dataclass
class SpeakerAnalytics:
    speaker: str
    turns: int = 0
    talk_time_s: float = 0.0
    share: float = 0.0
    words: int = 0
    words_per_minute: float = 0.0
    pauses: int = 0
    pause_time_s: float = 0.0
    mean_pause_s: float = 0.0
    overlaps: int = 0
    interruptions: int = 0
    fillers: int = 0
    filler_counts: dict[str, int] = field(default_factory=dict)
    fillers_per_100_words: float = 0.0
    longest_monologue_s: float = 0.0

    def as_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _merged_length(intervals: list[tuple[float, float]]) -> float:
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted(intervals):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def filler_counts(*, text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for match in _FILLER_RX.finditer(text):
        key = match.group(0).lower()
        counts[key] = counts.get(key, 0) + 1
    return counts


def speech_analytics(*, turns: list[SpeechTurn]) -> list[SpeakerAnalytics]:
    """One SpeakerAnalytics per speaker, in order of first speech."""
    turns = sorted((t for t in turns if t.end > t.start), key=lambda t: (t.start, t.end))
    order: list[str] = []
    by_speaker: dict[str, list[SpeechTurn]] = {}
    for turn in turns:
        if turn.speaker not in by_speaker:
            order.append(turn.speaker)
            by_speaker[turn.speaker] = []
        by_speaker[turn.speaker].append(turn)
    results = {name: SpeakerAnalytics(speaker=name) for name in order}
    talk = {name: _merged_length([(t.start, t.end) for t in by_speaker[name]]) for name in order}
    total_talk = sum(talk.values())
    for name in order:
        stats = results[name]
        own = by_speaker[name]
        stats.turns = len(own)
        stats.talk_time_s = talk[name]
        stats.share = talk[name] / total_talk if total_talk else 0.0
        texts = [w for t in own for w in t.word_texts]
        stats.words = len(texts)
        stats.words_per_minute = stats.words / (talk[name] / 60) if talk[name] > 0 else 0.0
        for t in own:
            for (_, prev_end, _), (next_start, _, _) in zip(t.words, t.words[1:], strict=False):
                gap = next_start - prev_end
                if gap >= PAUSE_MIN_S:
                    stats.pauses += 1
                    stats.pause_time_s += gap
        stats.mean_pause_s = stats.pause_time_s / stats.pauses if stats.pauses else 0.0
        stats.filler_counts = {}
        for t in own:
            for key, n in filler_counts(text=" ".join(t.word_texts)).items():
                stats.filler_counts[key] = stats.filler_counts.get(key, 0) + n
        stats.fillers = sum(stats.filler_counts.values())
        stats.fillers_per_100_words = 100 * stats.fillers / stats.words if stats.words else 0.0
    # Overlaps: a turn that starts while another speaker's turn is still going. An interruption
    # is an overlap after which the other speaker stops before the one who came in does.
    for i, turn in enumerate(turns):
        for other in turns[:i]:
            if other.speaker == turn.speaker or other.end <= turn.start or other.start >= turn.start:
                continue
            overlap = min(other.end, turn.end) - turn.start
            if overlap <= 0:
                continue
            results[turn.speaker].overlaps += 1
            if overlap >= INTERRUPTION_MIN_OVERLAP_S and other.end < turn.end:
                results[turn.speaker].interruptions += 1
            break
    # Longest monologue: consecutive turns of one speaker with nobody else speaking between.
    run_speaker, run_start, run_end = None, 0.0, 0.0
    for turn in turns:
        if turn.speaker == run_speaker and turn.start - run_end <= MONOLOGUE_JOIN_S:
            run_end = max(run_end, turn.end)
        else:
            if run_speaker is not None:
                results[run_speaker].longest_monologue_s = max(results[run_speaker].longest_monologue_s, run_end - run_start)
            run_speaker, run_start, run_end = turn.speaker, turn.start, turn.end
    if run_speaker is not None:
        results[run_speaker].longest_monologue_s = max(results[run_speaker].longest_monologue_s, run_end - run_start)
    return [results[name] for name in order]
