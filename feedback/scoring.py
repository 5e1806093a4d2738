"""Scoring feedback: pure functions over labels, no database.

The selectors (``feedback.selectors.assessments``) read assessments and build
effective items (the instructor's review wins); everything computed from those
items lives here so that pages, downloads, live feedback and analytics score
the same way, and so it can be unit-tested without a database.

Items are duck-typed: anything with ``skill`` and ``label`` (``EffectiveItem``
in practice); ``next_steps`` also reads ``rewrite``, ``suggestion``,
``corrected`` and ``item.confidence`` / ``item.assessment.turn.text``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Behaviour coding: which code family refines each main behaviour.
SUBTYPE_FAMILY = {"reflection": "reflection", "question": "question", "therapist_input": "input"}

MITI_FIGURE_NAMES = {
    "reflection_to_question_ratio": "Reflections : questions",
    "percent_complex_reflections": "% complex reflections",
    "percent_open_questions": "% open questions",
}


@dataclass
class FrameworkInfo:
    """What scoring needs to know about a framework (read from ``Framework.data``)."""

    slug: str
    name: str
    kind: str
    labels: list[str]
    skills: dict[str, dict] = field(default_factory=dict)  # slug -> skill (name, definition, guidance, labels)
    targets: dict = field(default_factory=dict)

    def skill_labels(self, skill: str) -> list[str]:
        return list((self.skills.get(skill) or {}).get("labels") or self.labels)

    def skill_name(self, skill: str) -> str:
        return str((self.skills.get(skill) or {}).get("name") or skill)


def framework_info_from_data(*, slug: str, name: str, kind: str, data: Mapping | None) -> FrameworkInfo:
    data = data or {}
    return FrameworkInfo(
        slug=slug, name=name, kind=kind, labels=list(data.get("labels") or []),
        skills={s["slug"]: s for s in data.get("skills") or []}, targets=dict(data.get("targets") or {}),
    )


@dataclass
class SkillScore:
    skill: str
    name: str
    score: float | None  # mean over the assessed turns
    count: int
    labels: dict  # label -> how many times (effective)
    previous: list[float] = field(default_factory=list)  # earlier sessions, oldest first
    delta: float | None = None


def label_score(*, label: str, labels: list[str]) -> float | None:
    """First label (best) = 1, last = 0, evenly between: strong 1, weak 0.5, absent 0."""
    if label not in labels or len(labels) < 2:
        return None
    return round(1 - labels.index(label) / (len(labels) - 1), 3)


def skill_scores(*, items: Iterable[Any], framework: FrameworkInfo) -> list[SkillScore]:
    """Per-skill mean of label scores over the given (effective) items, in the
    framework's skill order, then skills the framework no longer lists."""
    values: dict[str, list[float]] = {}
    counts: dict[str, dict] = {}
    for item in items:
        counts.setdefault(item.skill, {})
        counts[item.skill][item.label] = counts[item.skill].get(item.label, 0) + 1
        score = label_score(label=item.label, labels=framework.skill_labels(item.skill))
        if score is not None:
            values.setdefault(item.skill, []).append(score)
    order = list(framework.skills) + [s for s in counts if s not in framework.skills]
    return [
        SkillScore(
            skill=skill, name=framework.skill_name(skill),
            score=round(sum(values[skill]) / len(values[skill]), 3) if values.get(skill) else None,
            count=len(values.get(skill, [])), labels=counts.get(skill, {}),
        )
        for skill in order
        if skill in counts
    ]


def skill_scores_trend(*, current: list[SkillScore], history: list[Mapping[str, float | None]]) -> list[SkillScore]:
    """Fills ``previous`` (earlier sessions' scores, oldest first) and ``delta``
    (change since the latest earlier score) on each current score, in place."""
    for score in current:
        score.previous = [h[score.skill] for h in history if h.get(score.skill) is not None]
        if score.previous and score.score is not None:
            score.delta = round(score.score - score.previous[-1], 3)
    return current


def next_steps(*, items: Iterable[Any], framework: FrameworkInfo, scores: list[SkillScore], count: int = 3) -> list[dict]:
    """The weakest skills, each with its guidance and the best rewrite seen for it."""
    items = list(items)
    weakest = sorted((s for s in scores if s.score is not None and s.score < 1), key=lambda s: (s.score, s.skill))[:count]
    steps = []
    for score in weakest:
        # An instructor's rewrite first, then the engine's most confident one.
        rewrites = sorted(
            (i for i in items if i.skill == score.skill and i.rewrite),
            key=lambda i: (not i.corrected, -(i.item.confidence or 0)),
        )
        best = rewrites[0] if rewrites else None
        skill = framework.skills.get(score.skill) or {}
        steps.append({
            "skill": score.skill, "name": score.name, "score": score.score,
            "guidance": skill.get("guidance") or skill.get("definition") or "",
            "rewrite": best.rewrite if best else "",
            "said": best.item.assessment.turn.text if best else "",
            "suggestion": best.suggestion if best else "",
        })
    return steps


# --- behaviour coding ----------------------------------------------------------------


def behaviour_codes(*, items: Iterable[Any]) -> dict:
    """{"behaviour": .., "family": .., "subtype": ..} from effective labels (subtype from the matching family)."""
    by_skill = {e.skill: e.label for e in items}
    behaviour = by_skill.get("behaviour", "")
    family = SUBTYPE_FAMILY.get(behaviour)
    return {"behaviour": behaviour, "family": family, "subtype": by_skill.get(family, "") if family else ""}


def relevant_items(*, kind: str, items: list) -> list:
    """Behaviour coding shows the main code and its own sub-code only; other kinds show every skill."""
    if kind != "behaviour-coding":
        return items
    codes = behaviour_codes(items=items)
    return [e for e in items if e.skill == "behaviour" or e.skill == codes["family"]]


def miti_summary(*, codes: list[dict], targets: Mapping) -> dict:
    """MITI summary figures over coded turns, each with its target and whether it is met."""
    reflections = [c for c in codes if c.get("behaviour") == "reflection"]
    questions = [c for c in codes if c.get("behaviour") == "question"]
    complex_ = sum(1 for c in reflections if c.get("subtype") == "complex")
    typed_reflections = sum(1 for c in reflections if c.get("subtype") in ("simple", "complex"))
    open_ = sum(1 for c in questions if c.get("subtype") == "open")
    typed_questions = sum(1 for c in questions if c.get("subtype") in ("open", "closed"))
    figures = {
        "reflection_to_question_ratio": round(len(reflections) / len(questions), 2) if questions else None,
        "percent_complex_reflections": round(100 * complex_ / typed_reflections) if typed_reflections else None,
        "percent_open_questions": round(100 * open_ / typed_questions) if typed_questions else None,
    }
    rows = []
    for key, value in figures.items():
        target = targets.get(key)
        rows.append({
            "key": key, "name": MITI_FIGURE_NAMES[key], "value": value, "target": target,
            "met": None if value is None or target is None else value >= float(target),
        })
    return {"coded": len(codes), "reflections": len(reflections), "questions": len(questions), "rows": rows}


def session_miti(*, views: Iterable[Any], framework: FrameworkInfo) -> dict:
    """MITI summary over assessment views (anything with ``codes``; uncoded ones skipped)."""
    return miti_summary(codes=[v.codes for v in views if v.codes], targets=framework.targets)
