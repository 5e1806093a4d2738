"""Diarization: who spoke when. One interface, two backends.

- production: a pyannote.audio 4 pipeline (`DIARIZATION_PIPELINE`: a local directory in the
  speaker-diarization-community-1 layout, or a hub name with `DIARIZATION_ALLOW_DOWNLOAD` and `HF_TOKEN`);
  see diarization_pyannote.py. Models overlapped speech.
- embedded default (nothing to download): Silero VAD + resemblyzer's speaker encoder + pyannote.audio's
  agglomerative clustering + Viterbi resegmentation; see diarization_embedded.py. One speaker at a time:
  overlapped speech is attributed to a single talker.

When a pipeline is configured but cannot load, diarization falls back to the embedded backend and says
why (result notes, /healthz, log). Every result carries one speaker embedding per speaker from
`speaker_embeddings.speaker_embed`, in the same space as voice enrolment, whatever the backend.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from trainer_app.engines.speech.config import speech_setting
from trainer_app.engines.status import EngineStatus, register_engine

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
MIN_EMBED_S = 0.5  # below this a speaker's speech is too short for a meaningful voice embedding


@dataclass(frozen=True)
class SpeakerTurn:
    start: float
    end: float
    speaker: str  # "SPEAKER_00", "SPEAKER_01", ... in order of first appearance


@dataclass
class DiarizationResult:
    turns: list[SpeakerTurn]
    speaker_embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    backend: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def speakers(self) -> list[str]:
        return sorted({t.speaker for t in self.turns})


def _validate_counts(
    *, num_speakers: int | None, min_speakers: int | None, max_speakers: int | None
) -> tuple[int | None, int | None, int | None]:
    for name, value in (("num_speakers", num_speakers), ("min_speakers", min_speakers), ("max_speakers", max_speakers)):
        if value is not None and (not isinstance(value, int | np.integer) or value < 1):
            raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    if min_speakers is not None and max_speakers is not None and min_speakers > max_speakers:
        raise ValueError(f"min_speakers ({min_speakers}) is larger than max_speakers ({max_speakers})")
    if num_speakers is not None:
        if min_speakers is not None and num_speakers < min_speakers:
            raise ValueError(f"num_speakers ({num_speakers}) is below min_speakers ({min_speakers})")
        if max_speakers is not None and num_speakers > max_speakers:
            raise ValueError(f"num_speakers ({num_speakers}) is above max_speakers ({max_speakers})")
    return num_speakers, min_speakers, max_speakers


def _validate_samples(*, samples: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"diarization expects {SAMPLE_RATE} Hz audio, got {sample_rate} Hz")
    wav = np.asarray(samples, dtype=np.float32)
    if wav.ndim != 1:
        raise ValueError(f"diarization expects mono samples (1-D), got shape {wav.shape}")
    if not np.isfinite(wav).all():
        raise ValueError("diarization got samples that are not finite numbers")
    return wav


def _speaker_embeddings(*, samples: np.ndarray, turns: list[SpeakerTurn]) -> dict[str, np.ndarray]:
    """One L2-normalised embedding per speaker, from the speech attributed to that speaker alone."""
    from trainer_app.engines.speech.speaker_embeddings import speaker_embed

    per_speaker: dict[str, list[np.ndarray]] = {}
    others: dict[str, list[tuple[float, float]]] = {}
    for turn in turns:
        others.setdefault(turn.speaker, []).append((turn.start, turn.end))
    for speaker, spans in others.items():
        # leave out stretches where someone else speaks too (overlap, production backend)
        foreign = [(t.start, t.end) for t in turns if t.speaker != speaker]
        pieces = []
        for start, end in spans:
            cuts = sorted((max(start, a), min(end, b)) for a, b in foreign if a < end and b > start)
            cursor = start
            for a, b in cuts:
                if a > cursor:
                    pieces.append((cursor, a))
                cursor = max(cursor, b)
            if end > cursor:
                pieces.append((cursor, end))
        per_speaker[speaker] = [samples[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)] for a, b in pieces]
    embeddings = {}
    for speaker, chunks in per_speaker.items():
        speech = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        if len(speech) < MIN_EMBED_S * SAMPLE_RATE:
            continue
        vector = np.asarray(speaker_embed(samples=speech, sample_rate=SAMPLE_RATE), dtype=np.float32)
        embeddings[speaker] = vector / max(float(np.linalg.norm(vector)), 1e-12)
    return embeddings


def _labelled(turns: list[tuple[float, float, object]]) -> list[SpeakerTurn]:
    """SPEAKER_00, SPEAKER_01, ... in order of first appearance; turns sorted by start."""
    order: dict[object, str] = {}
    out = []
    for start, end, label in sorted(turns, key=lambda t: (t[0], t[1])):
        name = order.setdefault(label, f"SPEAKER_{len(order):02d}")
        out.append(SpeakerTurn(round(float(start), 3), round(float(end), 3), name))
    return out


def _configured_pipeline():
    """The production pipeline when one is configured and loads; None when none is configured."""
    source = str(speech_setting(name="DIARIZATION_PIPELINE") or "").strip()
    if not source:
        return None
    from trainer_app.engines.speech.diarization_pyannote import pipeline_load

    return pipeline_load(
        source=source,
        allow_download=bool(speech_setting(name="DIARIZATION_ALLOW_DOWNLOAD")),
        token=str(speech_setting(name="HF_TOKEN") or ""),
        device=str(speech_setting(name="DIARIZATION_DEVICE") or "cpu"),
    )


def diarize(
    *,
    samples: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> DiarizationResult:
    """Who spoke when in 16 kHz mono float32 `samples` (times in seconds from the first sample)."""
    from trainer_app.engines.speech.diarization_embedded import BACKEND_NAME, diarize_embedded
    from trainer_app.engines.speech.diarization_pyannote import PipelineUnavailable, diarize_pyannote

    wav = _validate_samples(samples=samples, sample_rate=sample_rate)
    num_speakers, min_speakers, max_speakers = _validate_counts(
        num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
    )
    if len(wav) == 0:
        return DiarizationResult(turns=[], backend=BACKEND_NAME, notes=["empty audio"])
    notes: list[str] = []
    try:
        pipeline = _configured_pipeline()
    except PipelineUnavailable as exc:
        logger.warning("diarization: falling back to the embedded backend: %s", exc)
        pipeline = None
        notes.append(f"pyannote pipeline unavailable, used the embedded backend: {exc}")
    if pipeline is not None:
        raw, backend_notes = diarize_pyannote(
            pipeline=pipeline, samples=wav, num_speakers=num_speakers, min_speakers=min_speakers,
            max_speakers=max_speakers,
        )  # fmt: skip
        duration = len(wav) / SAMPLE_RATE  # pyannote's last chunk may reach a few ms past the end
        clipped = [(max(0.0, t.start), min(duration, t.end), t.speaker) for t in raw]
        turns = _labelled([t for t in clipped if t[1] > t[0]])
        backend = f"pyannote.audio pipeline ({speech_setting(name='DIARIZATION_PIPELINE')})"
    else:
        raw, backend_notes = diarize_embedded(
            samples=wav, num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
        )
        turns = _labelled([(t.start, t.end, t.cluster) for t in raw])
        backend = BACKEND_NAME
    return DiarizationResult(
        turns=turns,
        speaker_embeddings=_speaker_embeddings(samples=wav, turns=turns),
        backend=backend,
        notes=[*notes, *backend_notes],
    )


def diarization_status() -> EngineStatus:
    from trainer_app.engines.speech.diarization_embedded import BACKEND_NAME, OVERLAP_NOTE
    from trainer_app.engines.speech.diarization_pyannote import (
        PipelineUnavailable,
        pipeline_source_check,
        pipeline_state,
    )

    name = "diarization"
    source = str(speech_setting(name="DIARIZATION_PIPELINE") or "").strip()
    if source:
        state = pipeline_state()
        if state["source"] == source and state["pipeline"] is not None:
            return EngineStatus(name, f"pyannote.audio pipeline ({source})", True, True, "loaded; overlap-aware")
        problem = state["error"] if state["source"] == source else ""
        if not problem:
            try:
                pipeline_source_check(
                    source=source, allow_download=bool(speech_setting(name="DIARIZATION_ALLOW_DOWNLOAD"))
                )
            except PipelineUnavailable as exc:
                problem = str(exc)
        if problem:
            return EngineStatus(
                name, BACKEND_NAME, False, True,
                f"falling back to the embedded backend: {problem}. Embedded backend: {OVERLAP_NOTE}",
            )  # fmt: skip
        return EngineStatus(name, f"pyannote.audio pipeline ({source})", True, True, "configured; loads on first use")
    from importlib.util import find_spec

    missing = [m for m in ("pyannote.core", "pyannote.audio", "resemblyzer") if find_spec(m) is None]
    if missing:
        return EngineStatus(name, BACKEND_NAME, False, False, f"not installed: {', '.join(missing)}")
    return EngineStatus(
        name, BACKEND_NAME, False, True,
        f"embedded backend (no pipeline configured; set DIARIZATION_PIPELINE for pyannote). Weak spot: {OVERLAP_NOTE}",
    )  # fmt: skip


register_engine("diarization", diarization_status)
