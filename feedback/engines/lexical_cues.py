"""Lexical cues of DEAR MAN skills.

With a dozen exemplars per skill, sentence embeddings alone confuse "is
about the same thing" with "does the skill". A few phrases carry the skill
itself ("I feel" for Express, "would you be willing" for Negotiate, hedges
against Appear confident); these become classifier features next to the
exemplar votes. Custom rubrics have no built-in cues and rely on exemplars.
The phrases live in lexical_cues.yaml beside this module, read once at import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml


def _rx(*phrases: str) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class SkillCues:
    positive: re.Pattern | None  # phrases that do the skill
    negative: re.Pattern | None  # phrases that undermine it (weak rather than absent)
    issue: str = ""  # what the negative cues mean, in plain words, for suggestions


def _cues_load(path: Path) -> dict[str, SkillCues]:
    """The DEAR MAN cues from lexical_cues.yaml (beside this module)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    feelings = "|".join(data["feelings"])

    def rx(phrases: list[str] | None) -> re.Pattern | None:
        return _rx(*(p.replace("{feelings}", feelings) for p in phrases)) if phrases else None

    return {
        skill: SkillCues(positive=rx(cues.get("positive")), negative=rx(cues.get("negative")), issue=cues.get("issue", ""))
        for skill, cues in data["skills"].items()
    }


DEAR_MAN_CUES: dict[str, SkillCues] = _cues_load(Path(__file__).with_name("lexical_cues.yaml"))


def skill_cues(*, skill: str) -> SkillCues:
    return DEAR_MAN_CUES.get(skill, SkillCues(positive=None, negative=None))


def cue_matches(*, text: str, skill: str) -> tuple[list[str], list[str]]:
    """(positive phrases, negative phrases) of ``skill`` found in ``text``."""
    cues = skill_cues(skill=skill)
    positive = [m.group(0) for m in cues.positive.finditer(text)] if cues.positive else []
    negative = [m.group(0) for m in cues.negative.finditer(text)] if cues.negative else []
    return positive, negative
