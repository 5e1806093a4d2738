"""CBT worksheet scoring against a constructed cognitive model."""

from __future__ import annotations

from feedback.engines.formulation import formulation_score

MODEL = {
    "core_beliefs": ["I am incompetent", "I am a failure, loser"],
    "intermediate_beliefs": "If I don't do everything perfectly, people will see I can't cope.",
    "intermediate_beliefs_during_depression": "If I ask for help, I'm a burden.",
    "coping_strategies": "Overworks, checks everything twice, avoids asking questions.",
    "situations": [
        {
            "description": "Her sister cancelled their weekend visit at the last minute.",
            "automatic_thoughts": "She doesn't want to see me.",
            "emotions": ["sad", "hurt"],
            "behaviour": "Stayed in bed all Saturday.",
        },
        {
            "description": "A colleague corrected her drug chart in front of the team.",
            "automatic_thoughts": "Everyone saw; they'll think I'm dangerous.",
            "emotions": ["ashamed", "anxious"],
            "behaviour": "Went quiet, redid the chart three times, skipped lunch.",
        },
    ],
}

WORKSHEET = {
    "situation": "A coworker fixed a mistake on her medication chart while the whole team watched.",
    "automatic_thoughts": "They all think I'm a danger to patients.",
    "emotions": ["ashamed", "angry"],
    "behaviour": "She redid the chart over and over.",
    "core_beliefs": ["I am incompetent", "I am helpless"],
    "intermediate_beliefs": "",
    "coping_strategies": "She works far too many hours. She double-checks all her work.",
}


def test_scores_against_the_best_matching_situation():
    result = formulation_score(worksheet=WORKSHEET, cognitive_model=MODEL)
    assert result.matched_situation == 1
    assert result.situation.label in {"complete", "partial"}


def test_closed_lists_by_precision_and_recall_with_named_misses():
    result = formulation_score(worksheet=WORKSHEET, cognitive_model=MODEL)
    named, truth = set(WORKSHEET["emotions"]), set(MODEL["situations"][1]["emotions"])
    assert result.emotions.precision == round(len(named & truth) / len(named), 3)
    assert result.emotions.recall == round(len(named & truth) / len(truth), 3)
    assert "ashamed" in result.emotions.explanation and "missed 'anxious'" in result.emotions.explanation
    assert "'angry'" in result.emotions.explanation  # named but not the patient's
    assert result.core_beliefs.missed == ["I am a failure, loser"]
    assert "I am a failure, loser" in result.core_beliefs.explanation
    assert result.core_beliefs.f1 is not None and 0 < result.core_beliefs.f1 < 1


def test_free_text_coverage_names_what_was_missed():
    result = formulation_score(worksheet=WORKSHEET, cognitive_model=MODEL)
    coping = result.coping_strategies
    assert coping.label == "partial"
    assert any("asking questions" in m for m in coping.missed)
    assert "asking questions" in coping.explanation
    assert any("twice" in c for c in coping.covered)


def test_empty_field_is_missing_and_says_what_it_should_hold():
    result = formulation_score(worksheet=WORKSHEET, cognitive_model=MODEL)
    assert result.intermediate_beliefs.label == "missing" and result.intermediate_beliefs.score == 0
    assert "burden" in result.intermediate_beliefs.explanation


def test_a_better_worksheet_scores_higher_overall():
    better = dict(WORKSHEET, emotions=["ashamed", "anxious"], intermediate_beliefs="Asking for help makes me a burden; I must be perfect or people see I can't cope.")
    assert formulation_score(worksheet=better, cognitive_model=MODEL).overall > formulation_score(worksheet=WORKSHEET, cognitive_model=MODEL).overall


def test_free_typed_core_belief_maps_onto_the_nineteen():
    worksheet = dict(WORKSHEET, core_beliefs=["i am a failure loser"])
    result = formulation_score(worksheet=worksheet, cognitive_model=MODEL)
    assert result.core_beliefs.covered == ["I am a failure, loser"]
