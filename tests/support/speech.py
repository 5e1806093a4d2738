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


def pcm16_dithered(*, samples: np.ndarray, seed: int | tuple[int, ...] = 0) -> np.ndarray:
    """Float samples to 16-bit PCM with seeded TPDF dither: what sox does when it resamples to 16 bits,
    but sox draws its dither from the clock, so the same text gave a different file on every run."""
    rng = np.random.default_rng(seed)
    tpdf = rng.uniform(-0.5, 0.5, len(samples)) + rng.uniform(-0.5, 0.5, len(samples))
    return np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32768.0 + tpdf), -32768, 32767).astype("<i2")


def pcm16_write(*, path: Path, pcm: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    import wave

    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
    return path


def speech_synthesize(
    *,
    text: str,
    path: Path,
    voice: str = "en-us",
    words_per_minute: int = 160,
    pad_s: float = 0.3,
    seed: int | tuple[int, ...] = 0,
) -> Path:
    """Speak `text` with espeak-ng into a 16 kHz mono 16-bit wav with `pad_s` of silence each side.

    Repeatable: sox resamples to 32-bit float (no dither) and the 16-bit rounding's dither comes from
    `seed`; a different seed gives the same speech with different dither."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(raw), text], check=True)
        out = subprocess.run(
            ["sox", "-R", str(raw), "-t", "f32", "-r", str(SAMPLE_RATE), "-c", "1", "-", "pad", str(pad_s), str(pad_s)],
            check=True,
            capture_output=True,
        )
    return pcm16_write(path=path, pcm=pcm16_dithered(samples=np.frombuffer(out.stdout, dtype="<f4"), seed=seed))


def speech_silence(*, path: Path, seconds: float) -> Path:
    subprocess.run(
        ["sox", "-R", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(path), "trim", "0", str(seconds)],
        check=True,
    )
    return path


def speech_noise(*, path: Path, seconds: float, amplitude: float = 0.3, color: str = "whitenoise") -> Path:
    """Stationary noise (whitenoise, pinknoise, brownnoise) at `amplitude` of full scale (sox's fixed
    seed: the same file every run)."""
    subprocess.run(
        [
            "sox",
            "-R",
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


PINK_RMS_PER_VOL = 0.208  # sox's `synth pinknoise vol v` has an RMS of about 0.208 * v (measured, sox 14.4.2)


def pink_noise(*, seconds: float, vol: float, seed: int | tuple[int, ...] = 0) -> np.ndarray:
    """Seeded pink (1/f power) noise at the level of sox's `synth pinknoise vol <vol>` (sox has no seed
    option: -R fixes one seed, so noise stretches that vary by seed come from numpy)."""
    n = int(round(seconds * SAMPLE_RATE))
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n)
    noise *= vol * PINK_RMS_PER_VOL / max(float(np.sqrt(np.mean(noise**2))), 1e-12)
    return noise.astype(np.float32)


def speech_concat(*, paths: list[Path], path: Path) -> Path:
    subprocess.run(["sox", "-R", *map(str, paths), str(path)], check=True)
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


# Whisper's English normaliser expands contractions; so do we, on both sides (ASR spells them either way).
_CONTRACTIONS = {"n't": " not", "'re": " are", "'ve": " have", "'ll": " will", "'m": " am"}
_IRREGULAR = {"won't": "will not", "can't": "can not", "cannot": "can not", "shan't": "shall not", "let's": "let us",
              "i'd": "i would", "you'd": "you would", "we'd": "we would", "they'd": "they would",
              "okay": "ok", "o.k.": "ok", "per cent": "percent", "mr.": "mister", "mr": "mister", "dr": "doctor",
              "dr.": "doctor"}


def wer_words(*, text: str) -> list[str]:
    """Lower-cased words without punctuation, contractions expanded, hyphens split."""
    import re

    words: list[str] = []
    for raw in re.sub(r"[^\w\s'.]|(?<!\w)\.|\.(?!\w)", " ", text.lower().replace("-", " ").replace("’", "'")).split():
        raw = _IRREGULAR.get(raw, raw)
        for suffix, full in _CONTRACTIONS.items():
            if raw.endswith(suffix) and raw not in _IRREGULAR.values():
                raw = raw[: -len(suffix)] + full
                break
        words.extend(w.strip("'.") for w in raw.split() if w.strip("'."))
    return words


def wer_counts(*, reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words): word-level Levenshtein distance on wer_words."""
    ref, hyp = wer_words(text=reference), wer_words(text=hypothesis)
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        previous, row = row, [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
    return row[-1], len(ref)


def wer_compute(*, reference: str, hypothesis: str) -> float:
    """Word error rate: word-level Levenshtein distance / reference length (case, punctuation and
    contractions normalised)."""
    edits, n_ref = wer_counts(reference=reference, hypothesis=hypothesis)
    if not n_ref:
        return 0.0 if not wer_words(text=hypothesis) else 1.0
    return edits / n_ref


# --- a test set with known words: several espeak-ng voices, clean and over noise beds ----------------
# espeak-ng voices (accent) with variants (pitch/formants: a different "speaker" of the same accent).
SPEECH_VOICES = ("en-us", "en-us+f3", "en-gb", "en-gb-scotland+m3", "en-029+f2", "en-gb-x-rp+m7")
# what people say in practice conversations (no numbers or names: those have several right spellings)
SPEECH_SENTENCES = (
    "please tell me more about how you have been feeling this week",
    "what would you like to talk about today",
    "it sounds like the last few days have been really hard for you",
    "can you tell me what went through your mind when that happened",
    "i would like to ask for a raise because my role has grown",
    "the music was loud after midnight and i could not sleep",
    "what do you think would help you right now",
    "part of you wants to cut down and part of you worries about it",
)
NOISE_COLORS = ("whitenoise", "pinknoise", "brownnoise")


def _active_rms(*, samples: np.ndarray, frame: int = 320) -> float:
    """RMS over the 20 ms frames that hold speech (within 30 dB of the loudest), so padding doesn't count."""
    n = len(samples) // frame
    if n == 0:
        return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0
    energy = np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1)
    active = energy[energy >= energy.max() * 1e-3]
    return float(np.sqrt(np.mean(active)))


def wav_write(*, path: Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    import wave

    pcm = (np.clip(samples, -1.0, 32767 / 32768) * 32768.0).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
    return path


def speech_add_noise(*, clean: Path, path: Path, color: str = "whitenoise", snr_db: float = 10.0) -> Path:
    """`clean` over a sox noise bed (white, pink or brown; repeatable) at `snr_db` dB below the speech level."""
    if color not in NOISE_COLORS:
        raise ValueError(f"noise colour must be one of {NOISE_COLORS}")
    speech = audio_read_wav(path=clean)
    with tempfile.TemporaryDirectory() as tmp:
        bed = Path(tmp) / "bed.wav"
        subprocess.run(
            ["sox", "-R", "-r", str(SAMPLE_RATE), "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(bed),
             "synth", f"{len(speech)}s", color, "vol", "0.5"],
            check=True,
        )  # fmt: skip
        noise = audio_read_wav(path=bed)[: len(speech)]
    noise = noise - noise.mean()
    gain = _active_rms(samples=speech) / (10 ** (snr_db / 20)) / max(float(np.sqrt(np.mean(noise**2))), 1e-9)
    mixed = speech + gain * noise
    peak = float(np.max(np.abs(mixed)))
    if peak > 0.99:  # keep the ratio, avoid clipping
        mixed *= 0.99 / peak
    return wav_write(path=path, samples=mixed)


def speech_test_set(
    *,
    out_dir: Path,
    sentences: tuple[str, ...] = SPEECH_SENTENCES,
    voices: tuple[str, ...] = SPEECH_VOICES,
    conditions: tuple[tuple[str, float | None], ...] = (("clean", None),),
    words_per_minute: int = 160,
) -> list[dict]:
    """Clips with known words: every sentence in every voice, under every condition.

    A condition is (noise colour, SNR dB), or ("clean", None). Returns one dict per clip:
    {"path", "text", "voice", "condition"} (condition "clean" or e.g. "pinknoise@10dB")."""
    out_dir.mkdir(parents=True, exist_ok=True)
    clips: list[dict] = []
    for v, voice in enumerate(voices):
        for s, text in enumerate(sentences):
            clean = out_dir / f"v{v}-s{s}-clean.wav"
            if not clean.exists():
                speech_synthesize(text=text, path=clean, voice=voice, words_per_minute=words_per_minute)
            for color, snr in conditions:
                if snr is None:
                    clips.append({"path": clean, "text": text, "voice": voice, "condition": "clean"})
                    continue
                name = f"{color}@{snr:g}dB"
                noisy = out_dir / f"v{v}-s{s}-{color}-{snr:g}.wav"
                if not noisy.exists():
                    speech_add_noise(clean=clean, path=noisy, color=color, snr_db=snr)
                clips.append({"path": noisy, "text": text, "voice": voice, "condition": name})
    return clips
