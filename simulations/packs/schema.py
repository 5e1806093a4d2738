"""Constants of the pack schema (docs/scenario-packs.md, version 1): limits,
enums and the documented key order used for canonical (round-trippable) output."""

from __future__ import annotations

import re

from simulations.cognitive_model import CONVERSATIONAL_STYLES, DISCLOSURE_LEVELS, MOODS

PACK_VERSION = 1
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
TEXT_MAX_CHARS = 5000
SECTION_LIMITS = {"frameworks": 200, "personas": 500, "scenarios": 1000}
EXEMPLARS_MAX = 5000

PERSONA_KINDS = ("cbt-patient", "interpersonal-partner", "mi-client")
# The kind-specific part each persona kind must have (and the others must not).
PERSONA_KIND_SECTION = {"cbt-patient": "cognitive_model", "interpersonal-partner": "partner", "mi-client": "client"}
PERSONA_STYLES = CONVERSATIONAL_STYLES
# A scenario may override the persona's style with a named style (not "custom":
# the custom instruction belongs to the persona).
SCENARIO_STYLES = tuple(s for s in CONVERSATIONAL_STYLES if s != "custom")
REPLY_MOODS = (*MOODS, "any")
LEVELS = DISCLOSURE_LEVELS
DIFFICULTY_LEVELS = ("easy", "medium", "hard")
VOICE_GENDERS = ("female", "male", "neutral")
MODES = ("text", "voice", "live_feedback", "exam")
MODE_DEFAULTS = {"text": True, "voice": True, "live_feedback": True, "exam": False}
TIME_LIMIT_RANGE = (1, 120)
DEFAULT_TIME_LIMIT_MINUTES = 20


class Shape:
    """Documented key order of a mapping, and the shapes of its nested values.

    ``children`` maps a key to a Shape (a mapping) or to a one-item list
    ``[Shape]`` (a list of mappings)."""

    def __init__(self, keys: tuple[str, ...], children: dict | None = None):
        self.keys = keys
        self.children = children or {}


VOICE = Shape(("lang", "gender", "pitch", "rate"))
FACT = Shape(("level", "text"))
SITUATION = Shape(("description", "automatic_thoughts", "emotions", "behaviour"))
COGNITIVE_MODEL = Shape(
    (
        "history",
        "core_beliefs",
        "intermediate_beliefs",
        "intermediate_beliefs_during_depression",
        "coping_strategies",
        "situations",
    ),
    {"situations": [SITUATION]},
)
PARTNER = Shape(("relationship", "wants", "objections", "calmed_by", "inflamed_by"))
CLIENT = Shape(("target_behaviour", "reasons_for_change", "reasons_against_change", "change_talk_tendency"))
REPLY = Shape(("level", "mood", "text"))
TOPIC = Shape(("topic", "prompts", "level", "replies"), {"replies": [REPLY]})
PERSONA = Shape(
    (
        "slug",
        "kind",
        "name",
        "summary",
        "style",
        "style_instruction",
        "voice",
        "facts",
        "cognitive_model",
        "partner",
        "client",
        "script",
    ),
    {
        "voice": VOICE,
        "facts": [FACT],
        "cognitive_model": COGNITIVE_MODEL,
        "partner": PARTNER,
        "client": CLIENT,
        "script": [TOPIC],
    },
)
DIFFICULTY = Shape(("level", "trust_gain", "disclosure_thresholds", "hostility", "concession_rate"))
MODES_SHAPE = Shape(MODES)
SCENARIO = Shape(
    (
        "slug",
        "title",
        "persona",
        "frameworks",
        "brief",
        "learning_objectives",
        "difficulty",
        "style",
        "opening_line",
        "time_limit_minutes",
        "modes",
    ),
    {"difficulty": DIFFICULTY, "modes": MODES_SHAPE},
)


def _empty(value) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def canonical(value, shape: Shape | list | None):
    """The value with mapping keys in documented order and unset (empty)
    optional fields dropped, so export -> import -> export is byte-identical."""
    if isinstance(shape, list):
        return [canonical(item, shape[0]) for item in value]
    if shape is None or not isinstance(value, dict):
        return value
    ordered = {}
    for key in shape.keys:
        if key in value and not _empty(value[key]):
            ordered[key] = canonical(value[key], shape.children.get(key))
    return ordered
