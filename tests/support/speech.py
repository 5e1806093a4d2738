"""Test audio with known content: espeak-ng speech, silence, noise, and browser-style encodings."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000


def speech_tools_available() -> bool:
    return bool(shutil.which("espeak-ng") and shutil.which("sox"))


def speech_synthesize(
    *, text: str, path: Path, voice: str = "en-us", words_per_minute: int = 160, pad_s: float = 0.3
) -> Path:
    """Speak `text` with espeak-ng into a 16 kHz mono 16-bit wav with `pad_s` of silence each side."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(raw), text], check=True)
        subprocess.run(
            ["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(path), "pad", str(pad_s), str(pad_s)],
            check=True,
        )
    return path


def speech_silence(*, path: Path, seconds: float) -> Path:
    subprocess.run(
        ["sox", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(path), "trim", "0", str(seconds)], check=True
    )
    return path


def speech_noise(*, path: Path, seconds: float, amplitude: float = 0.3, color: str = "whitenoise") -> Path:
    """Stationary noise (whitenoise, pinknoise, brownnoise) at `amplitude` of full scale."""
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            str(SAMPLE_RATE),
            "-c",
            "1",
            "-b",
            "16",
            str(path),
            "synth",
            str(seconds),
            color,
            "vol",
            str(amplitude),
        ],
        check=True,
    )
    return path


def speech_concat(*, paths: list[Path], path: Path) -> Path:
    subprocess.run(["sox", *map(str, paths), str(path)], check=True)
    return path


def audio_read_wav(*, path: Path) -> np.ndarray:
    import wave

    with wave.open(str(path)) as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


# container → (codec, sample rate) as browsers and phones produce them
_ENCODINGS = {
    "webm": ("libopus", 48_000),  # Chrome / Firefox MediaRecorder
    "ogg": ("libopus", 48_000),
    "m4a": ("aac", 44_100),  # Safari MediaRecorder, phone voice memos
    "mp3": ("libmp3lame", 44_100),
}


def audio_encode(*, src: Path, dst: Path, container: str) -> Path:
    """Re-encode a wav with PyAV into webm/opus, ogg/opus, m4a/aac or mp3."""
    import av

    codec, rate = _ENCODINGS[container]
    out_format = {"m4a": "ipod"}.get(container, container)
    with av.open(str(src)) as source, av.open(str(dst), mode="w", format=out_format) as sink:
        stream = sink.add_stream(codec, rate=rate)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.format.name if stream.format else "s16", layout="mono", rate=rate)
        for frame in source.decode(audio=0):
            for out in resampler.resample(frame):
                out.pts = None
                sink.mux(stream.encode(out))
        for out in resampler.resample(None):
            out.pts = None
            sink.mux(stream.encode(out))
        sink.mux(stream.encode(None))
    return dst


def wer_compute(*, reference: str, hypothesis: str) -> float:
    """Word error rate: word-level Levenshtein distance / reference length (case and punctuation ignored)."""
    import re

    def words(text: str) -> list[str]:
        return re.sub(r"[^\w\s']", " ", text.lower()).split()

    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        previous, row = row, [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
    return row[-1] / len(ref)
