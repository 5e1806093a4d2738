"""The nearest-corrected-example memory shared by the engines (pure, no model)."""

from __future__ import annotations

from feedback.engines.correction_memory import CorrectionMemory, text_similarity


def _framework(*exemplars):
    return {"slug": "x", "exemplars": list(exemplars)}


def test_only_instructor_corrections_of_the_skill_match_nearly_the_same_words():
    memory = CorrectionMemory(framework=_framework(
        {"skill": "behaviour", "label": "question", "utterance": "So you want to cut down?", "source": "instructor-correction"},
        {"skill": "behaviour", "label": "other", "utterance": "So you want to cut down?", "source": "authored"},
    ))
    assert len(memory) == 1
    match = memory.lookup(skill="behaviour", utterance="So you want to cut down.")
    assert match is not None and match.label == "question" and match.similarity >= 0.9
    assert memory.lookup(skill="reflection", utterance="So you want to cut down.") is None
    assert memory.lookup(skill="behaviour", utterance="What would cutting down give you?") is None


def test_short_utterances_also_need_a_close_context():
    correction = {"skill": "behaviour", "label": "reflection", "utterance": "Scary.", "source": "instructor-correction",
                  "context": [{"speaker": "partner", "text": "I thought I was having a heart attack."}]}
    memory = CorrectionMemory(framework=_framework(correction))
    same = [{"speaker": "client", "text": "I thought I was having a heart attack!"}]
    other = [{"speaker": "client", "text": "We went to the cinema on Friday."}]
    assert memory.lookup(skill="behaviour", utterance="Scary.", context=same).label == "reflection"
    assert memory.lookup(skill="behaviour", utterance="Scary.", context=other) is None
    assert memory.lookup(skill="behaviour", utterance="Scary.") is None


def test_similarity_ignores_case_and_punctuation():
    assert text_similarity("Are you READY to quit?", "are you ready to quit") > 0.99
    assert text_similarity("Are you ready to quit?", "How was your weekend?") < 0.5
