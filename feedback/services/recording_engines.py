"""The speech engines as the recording pipeline calls them.

Thin adapters over trainer_app.engines.speech (ASR, diarization, speaker
embeddings, enrolment): they hold no model and no logic of their own beyond
what the pipeline needs when an engine is not installed in this checkout
(then the stage says so in its result instead of failing)."""

from __future__ import annotations

import importlib
import inspect
import logging
from dataclasses import dataclass, field

import numpy as np

from feedback.engines.recording_cleanup import TimedWord, words_spread

logger = logging.getLogger(__name__)
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class RawSegment:
    start: float
    end: float
    text: str
    words: tuple[TimedWord, ...]
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None


@dataclass
class Diarized:
    turns: list[tuple[float, float, str]]
    centroids: dict[str, np.ndarray] = field(default_factory=dict)
    backend: str = ""
    notes: list[str] = field(default_factory=list)


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def asr_transcribe_window(*, samples: np.ndarray, offset_s: float, language: str | None = None) -> tuple[list[RawSegment], str]:
    """Transcribe one window with the recordings' recognizer; times shifted by `offset_s`, words included."""
    from trainer_app.engines.speech import asr

    kwargs = {"samples": samples, "sample_rate": SAMPLE_RATE, "language": language}
    if "purpose" in inspect.signature(asr.asr_transcribe).parameters:
        kwargs["purpose"] = "recording"
    result = asr.asr_transcribe(**kwargs)
    end_limit = offset_s + len(samples) / SAMPLE_RATE
    out = []
    for seg in result.segments:
        start = min(offset_s + seg.start, end_limit)
        end = min(offset_s + seg.end, end_limit)
        words = tuple(
            TimedWord(min(offset_s + w.start, end_limit), min(offset_s + w.end, end_limit), w.text.strip(), getattr(w, "probability", None))
            for w in getattr(seg, "words", ()) or ()
            if w.text.strip()
        ) or words_spread(start=start, end=end, text=seg.text)
        out.append(RawSegment(start=start, end=end, text=seg.text.strip(), words=words, avg_logprob=seg.avg_logprob,
                              no_speech_prob=seg.no_speech_prob, compression_ratio=seg.compression_ratio))
    return out, result.backend


def diarize_samples(*, samples: np.ndarray, speech_regions: list[tuple[float, float]], num_speakers: int | None = None) -> Diarized:
    """Diarize one part of a recording. Without the diarization engine every speech region is one speaker."""
    engine = _optional("trainer_app.engines.speech.diarization")
    if engine is None or not hasattr(engine, "diarize"):
        return Diarized(
            turns=[(s, e, "SPEAKER_00") for s, e in speech_regions], backend="none",
            notes=["the diarization engine is not installed: every speech region is given to one speaker"],
        )
    result = engine.diarize(samples=samples, sample_rate=SAMPLE_RATE, num_speakers=num_speakers)
    return Diarized(
        turns=[(float(t.start), float(t.end), str(t.speaker)) for t in result.turns],
        centroids={k: np.asarray(v, dtype=np.float32) for k, v in (result.speaker_embeddings or {}).items()},
        backend=str(result.backend), notes=list(result.notes or []),
    )


def voice_embed(*, samples: np.ndarray) -> np.ndarray | None:
    """An L2-normalised voice vector for a stretch of speech, or None without the embedding engine."""
    engine = _optional("trainer_app.engines.speech.speaker_embeddings")
    if engine is None or not hasattr(engine, "speaker_embed"):
        return None
    return np.asarray(engine.speaker_embed(samples=samples, sample_rate=SAMPLE_RATE), dtype=np.float32)


def enrolled_voices(*, user_ids: list[int]) -> dict[int, np.ndarray]:
    """Enrolled voice embeddings of these users (current model only); empty without enrolment."""
    for module in ("trainer_app.selectors", "trainer_app.selectors.voice", "trainer_app.voice_selectors"):
        selectors = _optional(module)
        if selectors is not None and hasattr(selectors, "voice_enrolments_for_users"):
            return dict(selectors.voice_enrolments_for_users(user_ids=user_ids))
    return {}


@dataclass(frozen=True)
class Match:
    key: str | None
    similarity: float
    confidence: str


def speakers_to_people(*, centroids: dict[str, np.ndarray], enrolled: dict[str, np.ndarray]) -> dict[str, Match]:
    """Diarized speakers matched one-to-one to enrolled people (engine speaker_roles)."""
    engine = _optional("trainer_app.engines.speech.speaker_roles")
    if engine is None or not centroids or not enrolled:
        return {}
    matches = engine.speakers_match(speaker_embeddings=centroids, enrolled=enrolled)
    return {speaker: Match(key=m.key, similarity=float(m.similarity), confidence=str(m.confidence)) for speaker, m in matches.items()}
