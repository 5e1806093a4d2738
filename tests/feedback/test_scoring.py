"""feedback.scoring: pure functions, no database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from feedback.scoring import (
    FrameworkInfo,
    SkillScore,
    behaviour_codes,
    framework_info_from_data,
    label_score,
    miti_summary,
    next_steps,
    relevant_items,
    session_miti,
    skill_scores,
    skill_scores_trend,
)

LABELS = ["strong", "weak", "absent"]


def _framework() -> FrameworkInfo:
    return framework_info_from_data(slug="desc", name="DESC", kind="skills", data={
        "labels": LABELS,
        "skills": [
            {"slug": "describe", "name": "Describe", "guidance": "Say what happened."},
            {"slug": "assert", "name": "Assert", "definition": "Ask for what you want.", "labels": ["yes", "no"]},
        ],
        "targets": {"x": 1},
    })


def _item(skill, label, *, rewrite="", corrected=False, confidence=None, said="", suggestion=""):
    turn = SimpleNamespace(text=said)
    return SimpleNamespace(skill=skill, label=label, rewrite=rewrite, corrected=corrected, suggestion=suggestion,
                           item=SimpleNamespace(confidence=confidence, assessment=SimpleNamespace(turn=turn)))


@pytest.mark.parametrize("label,labels,expected", [
    ("strong", LABELS, 1.0), ("weak", LABELS, 0.5), ("absent", LABELS, 0.0),
    ("a", ["a", "b", "c", "d"], 1.0), ("b", ["a", "b", "c", "d"], 0.667),
    ("other", LABELS, None),  # not one of the skill's labels
    ("only", ["only"], None),  # a single label has no scale
    ("x", [], None),
])
def test_label_score(label, labels, expected):
    assert label_score(label=label, labels=labels) == expected


def test_framework_info_from_data_and_missing_data():
    info = _framework()
    assert info.skill_labels("describe") == LABELS and info.skill_labels("assert") == ["yes", "no"]
    assert info.skill_name("assert") == "Assert" and info.skill_name("gone") == "gone"
    assert info.skill_labels("gone") == LABELS and info.targets == {"x": 1}
    empty = framework_info_from_data(slug="s", name="S", kind="", data=None)
    assert empty.labels == [] and empty.skills == {} and empty.skill_labels("any") == []


def test_skill_scores_means_counts_and_order():
    items = [_item("assert", "yes"), _item("describe", "weak"), _item("describe", "strong"),
             _item("describe", "unknown"), _item("retired", "strong")]
    scores = skill_scores(items=items, framework=_framework())
    assert [s.skill for s in scores] == ["describe", "assert", "retired"]  # framework order, then the rest
    describe, assert_, retired = scores
    assert describe.score == 0.75 and describe.count == 2 and describe.labels == {"weak": 1, "strong": 1, "unknown": 1}
    assert assert_.score == 1.0 and assert_.name == "Assert"
    assert retired.score == 1.0 and retired.name == "retired"  # scored with the framework's default labels
    assert skill_scores(items=[], framework=_framework()) == []


def test_skill_scores_unscorable_skill_has_no_score():
    scores = skill_scores(items=[_item("describe", "unknown")], framework=_framework())
    assert scores[0].score is None and scores[0].count == 0 and scores[0].labels == {"unknown": 1}


def test_skill_scores_trend_previous_and_delta():
    current = [SkillScore(skill="a", name="A", score=0.75, count=2, labels={}),
               SkillScore(skill="b", name="B", score=None, count=0, labels={}),
               SkillScore(skill="c", name="C", score=0.5, count=1, labels={})]
    skill_scores_trend(current=current, history=[{"a": 0.25, "b": 0.5}, {"a": 0.5, "b": None}, {}])
    assert current[0].previous == [0.25, 0.5] and current[0].delta == 0.25
    assert current[1].previous == [0.5] and current[1].delta is None  # no current score
    assert current[2].previous == [] and current[2].delta is None


def test_next_steps_weakest_first_with_best_rewrite():
    framework = _framework()
    items = [
        _item("describe", "absent", rewrite="engine low", confidence=0.2, said="a"),
        _item("describe", "absent", rewrite="engine high", confidence=0.9, said="b", suggestion="Be concrete."),
        _item("assert", "no", rewrite="", said="c"),
    ]
    scores = skill_scores(items=items, framework=framework)
    steps = next_steps(items=items, framework=framework, scores=scores)
    assert [s["skill"] for s in steps] == ["assert", "describe"]  # both 0; ties by slug
    assert steps[0]["guidance"] == "Ask for what you want." and steps[0]["rewrite"] == ""  # definition when no guidance
    assert steps[1]["rewrite"] == "engine high" and steps[1]["said"] == "b" and steps[1]["suggestion"] == "Be concrete."
    # An instructor's correction wins over the engine's confidence.
    items.append(_item("describe", "absent", rewrite="instructor", corrected=True, confidence=0.1, said="d"))
    steps = next_steps(items=items, framework=framework, scores=scores, count=5)
    assert steps[1]["rewrite"] == "instructor" and steps[1]["said"] == "d"
    # Strong everywhere: nothing to try next; count limits the list.
    strong = [_item("describe", "strong"), _item("assert", "yes")]
    assert next_steps(items=strong, framework=framework, scores=skill_scores(items=strong, framework=framework)) == []
    assert len(next_steps(items=items, framework=framework, scores=scores, count=1)) == 1


def test_behaviour_codes_and_relevant_items():
    items = [_item("behaviour", "reflection"), _item("reflection", "complex"), _item("question", "open")]
    assert behaviour_codes(items=items) == {"behaviour": "reflection", "family": "reflection", "subtype": "complex"}
    assert [i.skill for i in relevant_items(kind="behaviour-coding", items=items)] == ["behaviour", "reflection"]
    assert relevant_items(kind="skills", items=items) == items
    assert behaviour_codes(items=[_item("behaviour", "other")]) == {"behaviour": "other", "family": None, "subtype": ""}
    assert behaviour_codes(items=[]) == {"behaviour": "", "family": None, "subtype": ""}


def test_miti_summary_with_nothing_coded_has_no_figures():
    summary = miti_summary(codes=[], targets={"percent_open_questions": 50})
    assert summary["coded"] == 0 and all(r["value"] is None and r["met"] is None for r in summary["rows"])
    assert [r["name"] for r in summary["rows"]] == ["Reflections : questions", "% complex reflections", "% open questions"]


def test_session_miti_skips_uncoded_views():
    framework = FrameworkInfo(slug="miti", name="MITI", kind="behaviour-coding", labels=[],
                              targets={"percent_open_questions": 50})
    views = [SimpleNamespace(codes={"behaviour": "question", "subtype": "open"}), SimpleNamespace(codes={})]
    summary = session_miti(views=views, framework=framework)
    assert summary["coded"] == 1 and summary["questions"] == 1
    assert {r["key"]: r["met"] for r in summary["rows"]}["percent_open_questions"] is True
