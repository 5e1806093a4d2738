"""A generated conversation with known truth: two espeak-ng voices taking turns, a noise-only
stretch, tones and clicks between them. Returns the wav path and the reference turns."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.speech import SAMPLE_RATE, pcm16_dithered, pcm16_write, pink_noise, speech_silence, speech_synthesize

TRAINER_VOICE = "en+m1"
TRAINEE_VOICE = "en-us+f2"

DEFAULT_SCRIPT = (
    ("trainer", "Good morning. Today we will practise closing the wound with interrupted sutures."),
    ("trainee", "Okay. Should I start at the top of the incision?"),
    ("trainer", "Yes, start at the top and keep your needle at a right angle to the skin."),
    ("trainee", "Like this, with a small bite on each side?"),
    ("trainer", "Good, that is much better. Now pull gently and tie three knots."),
    ("trainee", "Got it. I am tying the knots now."),
)


@dataclass(frozen=True)
class RefTurn:
    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class NonSpeech:
    kind: str  # noise | tone | clicks
    start: float
    end: float


def _sox(*args: str) -> None:
    subprocess.run(["sox", "-R", *args], check=True, capture_output=True)  # -R: repeatable (fixed dither seed)


def _duration(path: Path) -> float:
    out = subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


PLANTED_VOICE = "en-us+whisper"


def _plant(*, noise: Path, text: str, path: Path) -> Path:
    """Mix a quiet whispered line into a noise stretch: the kind of "speech" a recognizer turns into
    boilerplate, planted so that the test knows exactly where it is."""
    with tempfile.TemporaryDirectory() as tmp:
        line = speech_synthesize(text=text, path=Path(tmp) / "line.wav", voice=PLANTED_VOICE, pad_s=0.2)
        _sox("-m", str(noise), "-v", "0.8", str(line), str(path))
    return path


def _nonspeech(kind: str, path: Path, seconds: float, seed: tuple[int, ...]) -> Path:
    rate = ["-r", str(SAMPLE_RATE), "-c", "1", "-b", "16"]
    if kind == "noise":  # sox's pinknoise level, drawn from `seed`
        pcm16_write(path=path, pcm=pcm16_dithered(samples=pink_noise(seconds=seconds, vol=0.25, seed=seed), seed=seed))
    elif kind == "tone":  # music-like: a chord that changes
        _sox("-n", *rate, str(path), "synth", str(seconds), "sine", "220", "sine", "277", "sine", "330", "tremolo", "2", "40", "vol", "0.3")
    elif kind == "clicks":
        _sox("-n", *rate, str(path), "synth", str(seconds), "square", "3", "vol", "0.05", "highpass", "2000")
    else:
        raise ValueError(kind)
    return path


def conversation_build(
    *,
    path: Path,
    script=DEFAULT_SCRIPT,
    gap_s: float = 0.6,
    nonspeech: tuple[tuple[int, str, float], ...] = ((2, "noise", 4.0),),
    repeat: int = 1,
    words_per_minute: int = 150,
    planted: str = "",
    seed: int = 0,
) -> tuple[Path, list[RefTurn], list[NonSpeech]]:
    """Speak `script` (repeated `repeat` times); insert non-speech of (kind, seconds) after turn index i.
    With `planted`, that line is mixed (whispered, quiet) into the first noise stretch.

    Repeatable: the same arguments give the same file. `seed` draws the noise stretches and the
    dither of every spoken line: another seed gives a variant with the same words and timing."""
    voices = {"trainer": TRAINER_VOICE, "trainee": TRAINEE_VOICE}
    turns: list[RefTurn] = []
    others: list[NonSpeech] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        pieces: list[Path] = []
        t = 0.0
        extra = {i: (kind, secs) for i, kind, secs in nonspeech}
        n = 0
        for rep in range(repeat):
            for i, (speaker, text) in enumerate(script):
                wav = speech_synthesize(
                    text=text,
                    path=tmpdir / f"t{n}.wav",
                    voice=voices[speaker],
                    words_per_minute=words_per_minute,
                    pad_s=0.0,
                    seed=(seed, n),
                )
                d = _duration(wav)
                turns.append(RefTurn(speaker, round(t, 3), round(t + d, 3), text))
                pieces.append(wav)
                t += d
                gap = speech_silence(path=tmpdir / f"g{n}.wav", seconds=gap_s)
                pieces.append(gap)
                t += gap_s
                if rep == 0 and i in extra:
                    kind, secs = extra[i]
                    stretch = _nonspeech(kind, tmpdir / f"x{n}.wav", secs, seed=(seed, n, 1))
                    if planted and kind == "noise" and not any(o.kind == "noise" for o in others):
                        stretch = _plant(noise=stretch, text=planted, path=tmpdir / f"p{n}.wav")
                    pieces.append(stretch)
                    others.append(NonSpeech(kind, round(t, 3), round(t + secs, 3)))
                    t += secs
                    pieces.append(speech_silence(path=tmpdir / f"h{n}.wav", seconds=gap_s))
                    t += gap_s
                n += 1
        _sox(*map(str, pieces), str(path))
    return path, turns, others
