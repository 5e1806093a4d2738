"""Fixed vocabularies of the CBT cognitive model (after PATIENT-Ψ / Beck) and
the disclosure ladder shared by every persona kind."""

from __future__ import annotations

CORE_BELIEFS: dict[str, tuple[str, ...]] = {
    "helpless": (
        "I am incompetent",
        "I am helpless",
        "I am powerless, weak, vulnerable",
        "I am a victim",
        "I am needy",
        "I am trapped",
        "I am out of control",
        "I am a failure, loser",
        "I am defective",
    ),
    "unlovable": (
        "I am unlovable",
        "I am unattractive",
        "I am undesirable, unwanted",
        "I am bound to be rejected",
        "I am bound to be abandoned",
        "I am bound to be alone",
    ),
    "worthless": (
        "I am worthless, waste",
        "I am immoral",
        "I am bad - dangerous, toxic, evil",
        "I don't deserve to live",
    ),
}
ALL_CORE_BELIEFS: tuple[str, ...] = tuple(b for group in CORE_BELIEFS.values() for b in group)
CORE_BELIEF_CATEGORY: dict[str, str] = {b: cat for cat, group in CORE_BELIEFS.items() for b in group}

EMOTIONS: tuple[str, ...] = (
    "anxious",
    "sad",
    "angry",
    "ashamed",
    "disappointed",
    "jealous",
    "guilty",
    "hurt",
    "suspicious",
)

CONVERSATIONAL_STYLES: tuple[str, ...] = ("plain", "upset", "verbose", "reserved", "tangent", "pleasing", "custom")

# Disclosure ladder: a fact at level N is only ever known to the persona
# engine's prompt (and the browser) once the session's disclosure level >= N.
DISCLOSURE_LEVELS: tuple[str, ...] = (
    "surface",
    "situation",
    "automatic_thoughts",
    "intermediate_beliefs",
    "core_beliefs",
)
DISCLOSURE_RANK: dict[str, int] = {name: rank for rank, name in enumerate(DISCLOSURE_LEVELS)}

MOODS: tuple[str, ...] = ("guarded", "neutral", "open", "upset")

assert len(ALL_CORE_BELIEFS) == 19
