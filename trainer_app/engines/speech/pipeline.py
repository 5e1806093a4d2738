"""Speech to text for one recording: decode → VAD → ASR on the speech → hallucination removal."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainer_app.engines.speech.asr import asr_backend, asr_language
from trainer_app.engines.speech.asr_types import AsrBackend, AsrSegment, AsrWord
from trainer_app.engines.speech.audio import SAMPLE_RATE, DecodedAudio, audio_decode
from trainer_app.engines.speech.errors import NoSpeechDetected
from trainer_app.engines.speech.hallucinations import segments_remove_hallucinations
from trainer_app.engines.speech.vad import vad_speech_regions

logger = logging.getLogger(__name__)

# Whisper always encodes a 30 s window, so nearby regions are recognised together.
MAX_WINDOW_S = 28.0
NO_SPEECH_MESSAGE = "We couldn't hear any speech in that recording. Check your microphone and try again."


@dataclass(frozen=True)
class Transcript:
    text: str
    segments: list[tuple[float, float, str]]
    duration_s: float
    speech_s: float
    backend: str
    low_accuracy: bool
    # what hallucination removal took out, for audit: (start, end, text, reason)
    dropped: list[tuple[float, float, str, str]] = field(default_factory=list)
    # word timestamps of each kept segment (parallel to `segments`; times from the start of the audio)
    words: list[tuple[AsrWord, ...]] = field(default_factory=list)
    language: str = ""

    def as_dict(self) -> dict:
        words = self.words or [()] * len(self.segments)
        return {
            "text": self.text,
            "segments": [
                {
                    "start": round(s, 3),
                    "end": round(e, 3),
                    "text": t,
                    "words": [
                        {"start": round(w.start, 3), "end": round(w.end, 3), "text": w.text,
                         **({"probability": round(w.probability, 3)} if w.probability is not None else {})}
                        for w in ws
                    ],
                }
                for (s, e, t), ws in zip(self.segments, words, strict=True)
            ],
            "language": self.language,
            "duration_s": round(self.duration_s, 3),
            "speech_s": round(self.speech_s, 3),
            "backend": self.backend,
            "low_accuracy": self.low_accuracy,
            "dropped": [
                {"start": round(s, 3), "end": round(e, 3), "text": t, "reason": r} for s, e, t, r in self.dropped
            ],
        }


def regions_group(*, regions: list[tuple[float, float]], max_span_s: float = MAX_WINDOW_S) -> list[tuple[float, float]]:
    """Merge consecutive speech regions into windows no longer than `max_span_s`."""
    windows: list[tuple[float, float]] = []
    for start, end in regions:
        if windows and end - windows[-1][0] <= max_span_s:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def speech_transcribe_decoded(
    *, audio: DecodedAudio, language: str | None = None, purpose: str = "live", backend: AsrBackend | None = None
) -> Transcript:
    """VAD → ASR → hallucination removal on already decoded audio.

    `purpose` picks the recognizer ("live": voice turns, "recording": uploaded recordings);
    `backend` overrides it (a command's --model)."""
    regions = vad_speech_regions(samples=audio.samples, sample_rate=audio.sample_rate)
    if not regions:
        raise NoSpeechDetected(NO_SPEECH_MESSAGE)
    backend = backend or asr_backend(purpose=purpose)
    language = asr_language(language=language)
    raw: list[AsrSegment] = []
    detected = ""
    for start, end in regions_group(regions=regions):
        window = audio.samples[int(start * SAMPLE_RATE) : int(np.ceil(end * SAMPLE_RATE))]
        result = backend.transcribe(samples=window, sample_rate=SAMPLE_RATE, language=language)
        detected = detected or result.language
        # whisper can stamp text past the window's end: clamp, so it has no speech under it
        raw.extend(s.shifted(offset=start, limit=end) for s in result.segments)
    kept, dropped = segments_remove_hallucinations(segments=raw, speech_regions=regions)
    for segment, reason in dropped:
        logger.info("speech: dropped %r (%s)", segment.text, reason)
    text = " ".join(s.text.strip() for s in kept).strip()
    if not text:
        # noise that VAD let through, or only hallucinations: never produce an empty turn
        raise NoSpeechDetected(NO_SPEECH_MESSAGE)
    return Transcript(
        text=text,
        segments=[(s.start, s.end, s.text.strip()) for s in kept],
        duration_s=audio.duration_s,
        speech_s=sum(end - start for start, end in regions),
        backend=backend.name,
        low_accuracy=backend.low_accuracy,
        dropped=[(s.start, s.end, s.text, reason) for s, reason in dropped],
        words=[s.words for s in kept],
        language=detected or (language or ""),
    )


def speech_transcribe(
    *,
    audio_bytes: bytes | str | Path,
    filename: str = "",
    mime: str = "",
    language: str | None = None,
    purpose: str = "live",
) -> Transcript:
    """Transcribe one recording given as bytes or a file path.

    Raises AudioUnsupportedType, AudioTooLarge, AudioTooLong, AudioUndecodable or NoSpeechDetected,
    all SpeechError subclasses whose message can be shown to the trainee.
    """
    audio = audio_decode(source=audio_bytes, filename=filename, mime=mime)
    return speech_transcribe_decoded(audio=audio, language=language, purpose=purpose)
