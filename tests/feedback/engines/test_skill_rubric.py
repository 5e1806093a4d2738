"""Offline skill-rubric assessor on DEAR MAN."""

from __future__ import annotations

from collections import Counter

import pytest

from feedback.engines.retrieval import exemplar_index_for
from feedback.engines.rubric_classifier import leave_one_out_accuracy
from feedback.engines.skill_rubric import OfflineSkillRubricAssessor
from tests.feedback.engines.frameworks import dear_man

PARTNER = [{"speaker": "partner", "text": "So, what did you want to talk about?"}]


@pytest.fixture(scope="module")
def assessor():
    return OfflineSkillRubricAssessor(framework=dear_man())


def _item(result, skill):
    return next(i for i in result.items if i.skill == skill)


def test_every_skill_is_assessed_once(assessor):
    result = assessor.assess(utterance="I feel worried about the rota.", context=PARTNER)
    framework = dear_man()
    assert [i.skill for i in result.items] == [s["slug"] for s in framework["skills"]]
    assert all(i.label in ("strong", "weak", "absent") for i in result.items)
    assert all(0.0 <= i.confidence <= 1.0 for i in result.items)
    assert result.backend == "offline-embeddings"


@pytest.mark.parametrize(
    ("utterance", "skill", "label"),
    [
        ("I feel really frustrated when the rota changes the night before, and I end up anxious all week.", "express", "strong"),
        # A fact with no act of asking is not Assert, however close it is to the hint exemplars.
        ("For the last two months I've closed the shop on my own every Saturday.", "assert", "absent"),
        ("The report went out on Thursday instead of Monday.", "assert", "absent"),
        ("I'd like you to put a second person on the Saturday shift from next month.", "assert", "strong"),
        ("Sorry, um, I was sort of maybe hoping, I guess, we could possibly talk about it?", "appear-confident", "weak"),
        ("What if we try it for a month and then review how it's going?", "negotiate", "strong"),
        ("Since January I've covered the late shift three times a week.", "describe", "strong"),
    ],
)
def test_obvious_examples_are_labelled_right(assessor, utterance, skill, label):
    result = assessor.assess(utterance=utterance, context=PARTNER)
    assert _item(result, skill).label == label


def test_evidence_is_words_of_the_utterance(assessor):
    utterance = "Since March I've done every weekend shift. I feel worn out. Would you share them out from next month?"
    result = assessor.assess(utterance=utterance, context=PARTNER)
    assert any(i.evidence for i in result.items)
    for item in result.items:
        assert item.evidence in utterance
    assert "Would you share them out" in _item(result, "assert").evidence
    assert "I feel worn out" in _item(result, "express").evidence


def test_suggestions_quote_the_trainee_and_differ_between_utterances(assessor):
    first = assessor.assess(utterance="Sorry, I guess I maybe need the Friday off?", context=PARTNER)
    second = assessor.assess(utterance="Um, sorry, could I possibly sort of leave early on Thursdays?", context=PARTNER)
    a, b = _item(first, "appear-confident"), _item(second, "appear-confident")
    assert a.label == b.label == "weak"
    assert a.suggestion != b.suggestion
    assert "Friday off" in a.suggestion and "Thursdays" in b.suggestion
    assert a.rewrite and "sorry" not in a.rewrite.lower() and "Friday off" in a.rewrite
    assert a.exemplars and all(e.exemplar_id for e in a.exemplars)


def test_an_added_expert_exemplar_changes_the_label_of_a_near_duplicate():
    """The expert-alignment loop: an instructor's correction shows up in later feedback."""
    framework = dear_man()
    utterance = "Honestly, it would be so good for the whole team if this got sorted."
    before = _item(OfflineSkillRubricAssessor(framework=framework).assess(utterance=utterance, context=[]), "reinforce")
    corrected = "weak" if before.label == "strong" else "strong"
    framework["exemplars"].append(
        {
            "skill": "reinforce",
            "label": corrected,
            "utterance": "Honestly, it would be so good for the whole team if this got sorted out.",
            "feedback": "Instructor correction.",
            "source": "instructor-correction",
            "id": 90210,
        }
    )
    after = _item(OfflineSkillRubricAssessor(framework=framework).assess(utterance=utterance, context=[]), "reinforce")
    assert after.label == corrected
    assert after.exemplars[0].exemplar_id == "90210"


@pytest.mark.slow
def test_leave_one_out_accuracy_beats_the_majority_label():
    """The exemplar classifier (what custom rubrics rely on), on the pack's first 14 exemplars per skill:
    leave-one-out retrains it once per exemplar, so the full library would take minutes."""
    framework = dear_man()
    kept, seen = [], Counter()
    for exemplar in framework["exemplars"]:
        if seen[exemplar["skill"]] < 14:
            kept.append(exemplar)
            seen[exemplar["skill"]] += 1
    framework["exemplars"] = kept
    index = exemplar_index_for(framework=framework)
    accuracy = leave_one_out_accuracy(index=index)
    majority = max(Counter(index.label_of).values()) / len(index)
    assert accuracy["overall"] > majority + 0.15


def test_feedback_focuses_on_what_matters_now_and_rewrites_the_trainees_own_request(assessor):
    context = [
        {"speaker": "partner", "text": "Come in. What's on your mind?"},
        {"speaker": "trainee", "text": "Since March I've onboarded eleven new hires. I'd like a raise to forty-two thousand."},
        {"speaker": "partner", "text": "There's just no budget for raises this year."},
    ]
    collapsed = assessor.assess(utterance="Oh. Right, okay, never mind then.", context=context)
    assert collapsed.labels["focus"] == ["mindful"]
    assert collapsed.feedback.startswith("Next, Mindful:")
    assert "I'd like a raise to forty-two thousand." in collapsed.feedback  # their own request, said again
    assert _item(collapsed, "mindful").rewrite == "I hear you. I'm still asking: I'd like a raise to forty-two thousand."
    held = assessor.assess(utterance="I understand it's tight. I'm still asking for forty-two thousand.", context=context)
    assert held.labels["focus"][0] == "mindful" and "Good Mindful: \u201cI'm still asking for forty-two thousand.\u201d" in held.feedback
    assert len(held.labels["focus"]) <= 2
    # Every skill is still rated, and an absent skill never quotes anything.
    assert len(held.items) == 7
    assert all(i.evidence == "" for i in held.items if i.label == "absent")
    assert all(i.evidence in "I understand it's tight. I'm still asking for forty-two thousand." for i in held.items)
