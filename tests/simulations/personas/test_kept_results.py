"""Results kept per process so that a turn computes them once: the topic match and the utterance
signals (asked by the persona state update and again by the scripted engine), the script hash.
Each kept result must be what computing it again gives, for the inputs it depends on."""

from __future__ import annotations

import copy

from simulations.personas import signals, topics
from tests.simulations.personas.persona_dicts import starter_persona


def _authored_reply(persona: dict, topic_name: str) -> str:
    topic = next(t for t in persona["script"] if t.get("topic") == topic_name)
    return str(topic["replies"][0]["text"])


def test_a_kept_topic_match_is_the_match_computed_again_for_each_history():
    persona = starter_persona("cbt.yaml")
    text = "What was going through your mind right at that moment?"
    named = [t["topic"] for t in persona["script"] if t.get("replies") and t.get("prompts")]
    histories = [
        [],
        [{"speaker": "persona", "text": _authored_reply(persona, named[0])}],
        [{"speaker": "persona", "text": _authored_reply(persona, named[1])}],
        [{"speaker": "persona", "text": _authored_reply(persona, named[1])}, {"speaker": "trainee", "text": "Go on."},
         {"speaker": "persona", "text": _authored_reply(persona, named[2])}],
    ]
    for history in histories:
        for threshold in (None, 0.9):
            kept = topics.persona_topic_match(persona=persona, text=text, history=history, threshold=threshold)
            again = topics.persona_topic_match(persona=persona, text=text, history=history, threshold=threshold)
            fresh = topics._topic_match(persona=persona, text=text, threshold=threshold, history=history)
            assert again is kept  # the second ask of a turn computes nothing
            assert kept == fresh


def test_a_recently_answered_topic_still_steps_back_with_kept_matches():
    """The key holds the persona's last lines: a history that answered the topic gets its own match."""
    persona = starter_persona("cbt.yaml")
    text = "What was going through your mind right at that moment?"
    first = topics.persona_topic_match(persona=persona, text=text, history=[])
    topic = next(t for t in persona["script"] if t.get("topic") == first.name)
    answered = next(
        h for h in ([{"speaker": "persona", "text": str(r["text"])}] for r in topic["replies"])
        if topics.recent_topics(persona=persona, history=h) == [first.name]
    )
    after = topics.persona_topic_match(persona=persona, text=text, history=answered)
    assert after.score < first.score  # RECENT_PENALTY applied: not the kept match of the empty history
    assert after == topics._topic_match(persona=persona, text=text, threshold=None, history=answered)


def test_kept_signals_are_the_signals_computed_again():
    pairs = [
        ("It sounds like the week was really hard.", "The week was really hard, honestly."),
        ("It sounds like the week was really hard.", ""),
        ("How have you been sleeping?", "Not great."),
    ]
    for text, last in pairs:
        kept = signals.utterance_signals(text=text, last_persona_text=last)
        assert signals.utterance_signals(text=f"  {text} ", last_persona_text=last) is kept
        assert kept == signals._signals_compute(text=text, last=last.strip())
    with_last = signals.utterance_signals(text=pairs[0][0], last_persona_text=pairs[0][1])
    without = signals.utterance_signals(text=pairs[0][0])
    assert with_last.reflection != without.reflection  # the persona's line is part of the key


def test_the_script_hash_is_remembered_per_dict_and_follows_a_new_script():
    persona = starter_persona("mi.yaml")
    digest = topics.script_content_hash(persona=persona)
    assert topics.script_content_hash(persona=persona) == digest
    same_content = copy.deepcopy(persona)
    assert topics.script_content_hash(persona=same_content) == digest
    changed = copy.deepcopy(persona)
    changed["script"][0]["prompts"] = [*changed["script"][0]["prompts"], "A prompt added by an author."]
    assert topics.script_content_hash(persona=changed) != digest
