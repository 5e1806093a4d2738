"""Teaching-feedback engine on obvious cases (starter framework when present)."""

from __future__ import annotations

import pytest

from feedback.engines.teaching import TeachingFeedbackAssessor
from tests.feedback.engines.frameworks import starter_framework

pytestmark = pytest.mark.skipif(starter_framework("teaching-feedback") is None, reason="starter teaching framework not present")


@pytest.fixture(scope="module")
def assessor():
    return TeachingFeedbackAssessor(framework=starter_framework("teaching-feedback"))


def test_praise_with_technique_is_multi_label_feedback(assessor):
    result = assessor.assess(utterance="Good, that's much better. Now rotate from the wrist and keep the needle perpendicular.", context=[])
    assert result.labels["is-feedback"] == "yes"
    assert {"praise", "technical"} <= set(result.labels["type"])
    assert [i.skill for i in result.items][:3] == ["is-feedback", "trigger", "type"]


def test_a_request_to_the_room_is_not_feedback(assessor):
    result = assessor.assess(utterance="Can someone ring down and ask when the next patient is coming?", context=[])
    assert result.labels["is-feedback"] == "no"
    assert len(result.items) == 1


def test_trigger_follows_the_trainee_turn_before(assessor):
    asked = assessor.assess(
        utterance="That's the cystic duct, the artery is behind it.",
        context=[{"speaker": "trainee", "text": "Is this the duct or the artery?"}],
    )
    assert asked.labels["trigger"] == "question"
    erred = assessor.assess(
        utterance="No, stop, you're too close to the bowel. Come back up.",
        context=[{"speaker": "trainee", "text": "Okay, cutting here."}],
    )
    assert erred.labels["trigger"] == "error"


@pytest.mark.parametrize(
    ("following", "response"),
    [
        ([{"speaker": "trainee", "text": "Okay, got it.", "after": True}], "verbal-acknowledgment"),
        ([{"speaker": "trainee", "text": "Above the fat or below it?", "after": True}], "clarification"),
        ([{"speaker": "trainee", "text": "", "after": True}, {"speaker": "action", "text": "[re-grips the needle driver]", "after": True}], "behaviour-adjustment"),
        ([{"speaker": "trainee", "text": "Adjusting now, coming in flatter.", "after": True}], "behaviour-adjustment"),
    ],
)
def test_response_is_read_from_what_follows(assessor, following, response):
    result = assessor.assess(utterance="Lighter with the retractor, you're blanching the liver.", context=following)
    assert result.labels["response"] == response


def test_an_instructor_correction_changes_later_teaching_feedback():
    """A correction of nearly the same words takes precedence over the exemplar votes and cues."""
    framework = starter_framework("teaching-feedback")
    utterance = "Good, keep the tension on that thread while I cut."
    other = "Please can someone bleep the registrar."
    untaught = TeachingFeedbackAssessor(framework=framework)
    before = untaught.assess(utterance=utterance, context=[])
    other_before = untaught.assess(utterance=other, context=[]).labels
    corrected = "no" if before.labels["is-feedback"] == "yes" else "yes"
    framework["exemplars"] = [*framework["exemplars"], {
        "skill": "is-feedback", "label": corrected, "utterance": "Good, keep the tension on that thread while I cut it.",
        "source": "instructor-correction", "id": 777,
    }]
    after = TeachingFeedbackAssessor(framework=framework).assess(utterance=utterance, context=[])
    assert after.labels["is-feedback"] == corrected
    # Different words are not affected.
    assert TeachingFeedbackAssessor(framework=framework).assess(utterance=other, context=[]).labels == other_before


def test_a_type_correction_sets_the_types():
    framework = starter_framework("teaching-feedback")
    utterance = "Nice, now rotate from the wrist."
    framework["exemplars"] = [*framework["exemplars"], {
        "skill": "type", "label": "praise,technical,visual-aid", "utterance": "Nice, now rotate from the wrist!",
        "source": "instructor-correction",
    }]
    after = TeachingFeedbackAssessor(framework=framework).assess(utterance=utterance, context=[])
    assert after.labels["type"] == ["praise", "technical", "visual-aid"]
