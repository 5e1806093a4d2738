"""Distinct synthetic voices for voice-enrolment tests and the threshold calibration.

espeak-ng variants change pitch and formants. Many pairs are nevertheless the same voice to a speaker
encoder: the accents of one voice (en-us, en-gb, en-gb-scotland, en-029) have prints 0.95–0.97 apart
in cosine, en+f3 and en+f4 0.96, en-us and en-us+grandpa 0.99 — as close as one voice on two
sentences. The 22 voices below have enrolment prints pairwise under 0.85 (measured on the enrolment
sentence only), and are split into two groups that never meet: CALIBRATION (chooses the threshold)
and TEST (checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support.speech import audio_read_wav, speech_synthesize

# about 11 s at 160 words per minute: the enrolment, as a person reads it on the voice page
ENROL_TEXT = (
    "Thank you for coming in today. I would like to hear how the last few weeks have been for you, "
    "what has gone well, what has been hard, and what you would most like to work on together."
)
# 4 to 5 s each: what a diarized speaker's stretch of speech is matched on
TEST_SENTENCES = (
    "The train was late again this morning, so I missed the start of the meeting.",
    "She said the results would be ready by Friday, but nobody has called yet.",
    "We planted tomatoes and beans in the garden behind the house last spring.",
    "Could you pass me the blue folder on the shelf next to the window, please?",
    "I have been sleeping badly and I feel tired for most of the afternoon.",
    "The doctor asked him to hold the instrument a little higher and to keep still.",
    "Our neighbours are moving to the coast because they want a quieter life.",
    "If the weather stays dry we could walk along the river after lunch tomorrow.",
)


@dataclass(frozen=True)
class VoiceGroup:
    enrolled: tuple[str, ...]
    never_enrolled: tuple[str, ...]


CALIBRATION = VoiceGroup(
    enrolled=("en-gb-x-gbclan+m4", "en-us+belinda", "en-us+benjamin", "en-us+david", "en-us+m8", "en-us+zac"),
    never_enrolled=("en-us+edward", "en-us+michel", "en-us+paul", "en-us+pedro", "en-us+travis"),
)
TEST = VoiceGroup(
    enrolled=("en+f3", "en+m7", "en+klatt", "en-us+grandma", "en-us+steph", "en-us+victor"),
    never_enrolled=("en-us+f1", "en-us+boris", "en-us+norbert", "en-us+shelby", "en-us+quincy"),
)


def voice_clip(*, voice: str, text: str, directory: Path, name: str) -> np.ndarray:
    """16 kHz float32 samples of `voice` speaking `text` (espeak-ng, resampled by sox)."""
    safe = voice.replace("+", "_")
    return audio_read_wav(path=speech_synthesize(text=text, path=directory / f"{safe}-{name}.wav", voice=voice))


def voice_prints(*, group: VoiceGroup, directory: Path, n_sentences: int) -> dict:
    """{"enrolled": {voice: print}, "tests": {voice: [embedding per test sentence]}} for a group."""
    from trainer_app.engines.speech.speaker_embeddings import speaker_embed

    enrolled = {
        v: speaker_embed(samples=voice_clip(voice=v, text=ENROL_TEXT, directory=directory, name="enrol"))
        for v in group.enrolled
    }
    tests = {
        v: [
            speaker_embed(samples=voice_clip(voice=v, text=text, directory=directory, name=f"t{i}"))
            for i, text in enumerate(TEST_SENTENCES[:n_sentences])
        ]
        for v in (*group.enrolled, *group.never_enrolled)
    }
    return {"enrolled": enrolled, "tests": tests}


def identification_rates(*, prints: dict, group: VoiceGroup, threshold: float) -> dict:
    """Each test sentence matched alone (one diarized speaker) against the group's enrolled prints."""
    from trainer_app.engines.speech.speaker_roles import speakers_match

    correct = unknown = n_enrolled = n_never = 0
    errors = []
    for voice, embeddings in prints["tests"].items():
        for i, embedding in enumerate(embeddings):
            match = speakers_match(speaker_embeddings={"S": embedding}, enrolled=prints["enrolled"], threshold=threshold)["S"]
            if voice in group.enrolled:
                n_enrolled += 1
                correct += match.key == voice
                if match.key != voice:
                    errors.append(f"{voice} sentence {i} -> {match.key} ({match.similarity:.3f})")
            else:
                n_never += 1
                unknown += match.key is None
                if match.key is not None:
                    errors.append(f"never-enrolled {voice} sentence {i} -> {match.key} ({match.similarity:.3f})")
    return {
        "identified": correct / n_enrolled,
        "unknown": unknown / n_never,
        "n_identify": n_enrolled,
        "n_unknown": n_never,
        "errors": errors,
    }


def main() -> None:  # pragma: no cover - calibration script, run by hand
    """Print identification and "unknown" rates of the CALIBRATION voices for a range of thresholds.

    python -m tests.support.voices   (needs espeak-ng and sox; about two minutes on one core)
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        prints = voice_prints(group=CALIBRATION, directory=Path(tmp), n_sentences=len(TEST_SENTENCES))
    for threshold in np.arange(0.80, 0.901, 0.01):
        rates = identification_rates(prints=prints, group=CALIBRATION, threshold=float(threshold))
        print(f"threshold {threshold:.2f}: identified {rates['identified']:.3f} of {rates['n_identify']}, "
              f"unknown {rates['unknown']:.3f} of {rates['n_unknown']}")  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    main()
