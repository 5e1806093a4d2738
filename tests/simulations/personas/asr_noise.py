"""Deterministic ASR-like noise for trainee lines: what a low-accuracy
recognizer (pocketsphinx, word error rate ~0.4) hands the persona engine.

Lowercase, no punctuation (the recognizer emits neither), and about
``rate`` of the words dropped or replaced: by a sound-alike when one is
known, else by a short common word the recognizer likes to insert. The
choices depend only on the text and ``salt`` (sha256), never on the process.
"""

from __future__ import annotations

import hashlib
import random
import re

# Sound-alikes pocketsphinx confuses (small and generic; not tuned to any probe).
SOUND_ALIKES: dict[str, tuple[str, ...]] = {
    "you": ("ya", "the"), "your": ("you're", "or"), "you're": ("your", "you"), "to": ("two", "the"),
    "for": ("four", "far"), "feel": ("fill", "field"), "feeling": ("filling", "fooling"),
    "mind": ("mine", "mine'd"), "think": ("thing", "sink"), "thought": ("taught", "thoughts"),
    "what": ("want", "but"), "how": ("now", "who"), "that": ("at", "than"), "this": ("these", "his"),
    "sleep": ("slip", "sleet"), "sleeping": ("slipping", "sleeting"), "mood": ("mode", "moved"),
    "work": ("walk", "word"), "rent": ("went", "rant"), "pay": ("play", "bay"), "money": ("many", "honey"),
    "week": ("weak", "wick"), "would": ("wood", "good"), "could": ("good", "cold"), "when": ("then", "win"),
    "right": ("write", "ride"), "hear": ("here", "year"), "there": ("their", "where"), "mean": ("me", "been"),
    "sounds": ("sound", "sands"), "hard": ("heart", "hot"), "really": ("rarely", "real"), "about": ("a bout", "a"),
    "tell": ("tall", "tail"), "me": ("be", "my"), "we": ("he", "wee"), "agree": ("a green", "degree"),
    "raise": ("race", "rays"), "drinking": ("drink in", "thinking"), "smoking": ("smoke in", "joking"),
    "important": ("impotent", "important"), "confident": ("confidence", "content"), "hoping": ("hopping", "opening"),
}
FILLERS = ("the", "a", "and", "uh", "in", "it", "of", "so", "i")
_WORD = re.compile(r"[a-z0-9']+")


def asr_noise(text: str, *, rate: float = 0.3, salt: str = "") -> str:
    digest = hashlib.sha256(f"{salt}|{text}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    words = _WORD.findall(text.lower().replace("’", "'"))
    out: list[str] = []
    for word in words:
        if rng.random() >= rate:
            out.append(word)
            continue
        roll = rng.random()
        if word in SOUND_ALIKES and roll < 0.6:
            out.append(rng.choice(SOUND_ALIKES[word]))
        elif roll < 0.55:
            continue  # dropped
        else:
            out.append(rng.choice(FILLERS))
    return " ".join(out) or (words[0] if words else "")


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = _WORD.findall(reference.lower()), _WORD.findall(hypothesis.lower())
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / max(1, len(ref))
