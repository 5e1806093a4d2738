"""Real-time factor of the speech pipeline on one file (processing time / audio duration)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from trainer_app.engines.speech.asr import asr_backend
from trainer_app.engines.speech.asr_types import AsrBackend
from trainer_app.engines.speech.audio import audio_decode
from trainer_app.engines.speech.pipeline import speech_transcribe_decoded


@dataclass(frozen=True)
class SpeechTiming:
    duration_s: float
    decode_s: float
    transcribe_s: float  # VAD + ASR + filtering
    total_s: float
    rtf: float  # total_s / duration_s; below 1 is faster than real time
    backend: str
    text: str

    def as_dict(self) -> dict:
        return asdict(self)


def speech_rtf(
    *,
    audio_bytes: bytes | str | Path,
    filename: str = "",
    mime: str = "",
    warmup: bool = True,
    repeats: int = 1,
    purpose: str = "live",
    backend: AsrBackend | None = None,
) -> SpeechTiming:
    """Time decode + transcription; the model load is excluded (warm-up run) so RTF is steady-state."""
    backend = backend or asr_backend(purpose=purpose)  # load outside the timed region
    if warmup:
        speech_transcribe_decoded(
            audio=audio_decode(source=audio_bytes, filename=filename, mime=mime), backend=backend
        )
    decode_s = transcribe_s = 0.0
    transcript = None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        audio = audio_decode(source=audio_bytes, filename=filename, mime=mime)
        t1 = time.perf_counter()
        transcript = speech_transcribe_decoded(audio=audio, backend=backend)
        t2 = time.perf_counter()
        decode_s += t1 - t0
        transcribe_s += t2 - t1
    n = max(1, repeats)
    total = (decode_s + transcribe_s) / n
    return SpeechTiming(
        duration_s=audio.duration_s,
        decode_s=decode_s / n,
        transcribe_s=transcribe_s / n,
        total_s=total,
        rtf=total / audio.duration_s if audio.duration_s else float("inf"),
        backend=backend.name,
        text=transcript.text,
    )
