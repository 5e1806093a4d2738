"""The ASR interface shared by every backend."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class AsrWord:
    start: float  # seconds, same time base as its segment
    end: float
    text: str  # without surrounding spaces
    probability: float | None = None  # the recognizer's confidence in the word, when it has one


@dataclass(frozen=True)
class AsrSegment:
    start: float  # seconds, relative to the samples given to the backend
    end: float
    text: str
    # whisper's own confidence signals, used by hallucination removal; None when the backend has none
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    words: tuple[AsrWord, ...] = ()  # word timestamps, same time base as start / end

    def shifted(self, *, offset: float, limit: float | None = None) -> AsrSegment:
        """The segment (and its words) moved by `offset` seconds, times clamped to `limit`."""

        def at(t: float) -> float:
            t = t + offset
            return min(t, limit) if limit is not None else t

        return replace(
            self,
            start=at(self.start),
            end=at(self.end),
            words=tuple(replace(w, start=at(w.start), end=at(w.end)) for w in self.words),
        )


@dataclass(frozen=True)
class AsrResult:
    segments: list[AsrSegment] = field(default_factory=list)
    backend: str = ""
    low_accuracy: bool = False
    language: str = ""

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


class AsrBackend(Protocol):
    name: str
    production: bool
    low_accuracy: bool

    def transcribe(self, *, samples: np.ndarray, sample_rate: int, language: str) -> AsrResult:
        """Transcribe 16 kHz mono float32 samples; must be safe to call from several threads."""
        ...
