"""The ASR interface shared by every backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class AsrSegment:
    start: float  # seconds, relative to the samples given to the backend
    end: float
    text: str
    # whisper's own confidence signals, used by hallucination removal; None when the backend has none
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None


@dataclass(frozen=True)
class AsrResult:
    segments: list[AsrSegment] = field(default_factory=list)
    backend: str = ""
    low_accuracy: bool = False

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
