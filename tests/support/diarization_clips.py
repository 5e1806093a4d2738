"""Conversations with known speaker turns, spoken by espeak-ng voices that a speaker encoder can tell apart.

Two espeak-ng voices differ enough for resemblyzer's encoder only when their pitch differs too
(en-us at pitch 20 and en-us+f4 at pitch 80: cosine ~0.55 across voices, ~0.93 within a voice).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.speech import SAMPLE_RATE, audio_read_wav

VOICES = {"A": ("en-us", 20), "B": ("en-us+f4", 80)}
LINES = [
    ("A", "so tell me what brought you in today and how long this has been going on"),
    ("B", "it started about three weeks ago after I changed jobs and I have not slept well since"),
    ("A", "that sounds really hard, what have you tried so far to help yourself sleep"),
    ("B", "mostly I read late at night, sometimes I take a walk, but nothing seems to work for long"),
]


@dataclass(frozen=True)
class Conversation:
    path: Path
    turns: list[tuple[float, float, str]]  # reference (start, end, voice key), speech only
    duration_s: float


def conversation_build(*, path: Path, lines: list[tuple[str, str]] = LINES, gap_s: float = 0.5) -> Conversation:
    """Speak `lines` in turn into a 16 kHz mono wav at `path`; the reference excludes leading/trailing silence."""
    import numpy as np

    pieces, turns, cursor = [], [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (key, text) in enumerate(lines):
            voice, pitch = VOICES[key]
            raw, out = Path(tmp) / f"raw{i}.wav", Path(tmp) / f"line{i}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", "160", "-w", str(raw), text], check=True)
            subprocess.run(["sox", "-R", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(out)], check=True)
            samples = audio_read_wav(path=out)
            loud = np.flatnonzero(np.abs(samples) > 0.01)
            start, end = loud[0] / SAMPLE_RATE, (loud[-1] + 1) / SAMPLE_RATE
            turns.append((cursor + start, cursor + end, key))
            pieces.append(samples)
            cursor += len(samples) / SAMPLE_RATE
            gap = np.zeros(int(gap_s * SAMPLE_RATE), dtype=np.float32)
            pieces.append(gap)
            cursor += gap_s
        audio = np.concatenate(pieces)
    import wave

    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return Conversation(path=path, turns=turns, duration_s=len(audio) / SAMPLE_RATE)


def conversation_rttm(*, conversation: Conversation, uri: str) -> str:
    return "".join(
        f"SPEAKER {uri} 1 {start:.3f} {end - start:.3f} <NA> <NA> {key} <NA> <NA>\n"
        for start, end, key in conversation.turns
    )
