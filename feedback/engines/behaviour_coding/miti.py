"""MITI summary figures over a run of coded utterances, compared to the framework's targets."""

from __future__ import annotations

from collections.abc import Iterable

# MITI 4 "good" (fair-to-good) thresholds; a framework's `targets` override them.
DEFAULT_TARGETS = {
    "reflection_to_question_ratio": 1.0,
    "percent_complex_reflections": 40.0,
    "percent_open_questions": 50.0,
}


def _figure(*, value: float | None, target: float, unbounded: bool = False) -> dict:
    # unbounded: reflections but no questions, an infinite R:Q that meets any target.
    meets = unbounded or (value is not None and value >= target)
    return {"value": None if value is None else round(value, 3), "target": target, "meets_target": meets}


def miti_summary(*, labels: Iterable[dict], targets: dict | None = None) -> dict:
    """Counts and the three MITI figures for a list of label dicts (as in UtteranceAssessment.labels).

    A figure is None when it has no denominator (no questions, no reflections); it then does not meet its target.
    """
    goals = {
        **DEFAULT_TARGETS,
        **{key: float(value) for key, value in (targets or {}).items() if key in DEFAULT_TARGETS},
    }
    counts = {"utterances": 0, "reflections": 0, "complex_reflections": 0, "simple_reflections": 0, "questions": 0, "open_questions": 0, "closed_questions": 0, "inputs": 0, "other": 0}  # fmt: skip
    for label in labels:
        counts["utterances"] += 1
        behaviour = label.get("behaviour")
        if behaviour == "reflection":
            counts["reflections"] += 1
            if label.get("reflection") == "complex":
                counts["complex_reflections"] += 1
            elif label.get("reflection") == "simple":
                counts["simple_reflections"] += 1
        elif behaviour == "question":
            counts["questions"] += 1
            if label.get("question") == "open":
                counts["open_questions"] += 1
            elif label.get("question") == "closed":
                counts["closed_questions"] += 1
        elif behaviour == "therapist_input":
            counts["inputs"] += 1
        elif behaviour == "other":
            counts["other"] += 1
    ratio = counts["reflections"] / counts["questions"] if counts["questions"] else None
    complex_share = 100.0 * counts["complex_reflections"] / counts["reflections"] if counts["reflections"] else None
    open_share = 100.0 * counts["open_questions"] / counts["questions"] if counts["questions"] else None
    return {
        "counts": counts,
        "reflection_to_question_ratio": _figure(
            value=ratio,
            target=goals["reflection_to_question_ratio"],
            unbounded=ratio is None and counts["reflections"] > 0,
        ),
        "percent_complex_reflections": _figure(value=complex_share, target=goals["percent_complex_reflections"]),
        "percent_open_questions": _figure(value=open_share, target=goals["percent_open_questions"]),
    }
