"""Script-topic matching on held-out trainee lines (data/topic_probes.yaml),
clean and through ASR-like noise, plus the dialogue-act and conversation
rules of the matcher. Figures: ``python -m tests.simulations.personas.topic_eval``."""

from __future__ import annotations

import pytest
import yaml

from simulations.personas.engines.scripted import scripted_reply
from simulations.personas.signals import dialogue_acts, utterance_signals
from simulations.personas.state import PersonaState
from simulations.personas.topics import persona_topic_match, recent_topics
from tests.simulations.personas.asr_noise import asr_noise, word_error_rate
from tests.simulations.personas.persona_dicts import all_starter_personas, scenario, starter_persona
from tests.simulations.personas.topic_eval import PROBES, default_match, evaluate, probes_for

PERSONAS = all_starter_personas()
KINDS = ("cbt-patient", "interpersonal-partner", "mi-client")


def test_probes_cover_every_persona_and_are_not_copies_of_authored_prompts():
    data = yaml.safe_load(PROBES.read_text(encoding="utf-8"))
    assert len(PERSONAS) == 17
    for persona in PERSONAS:
        pairs = probes_for(persona, data)
        authored = {str(p).strip().lower() for t in persona["script"] for p in t["prompts"]}
        assert not [line for _, line in pairs if line.strip().lower() in authored], persona["slug"]
        covered = {topic for topic, _ in pairs}
        topics = {t["topic"] for t in persona["script"] if t["topic"] != "off-script"}
        assert len(covered) >= len(topics) - 1, (persona["slug"], topics - covered)


def test_asr_noise_is_deterministic_and_about_a_third_of_words_wrong():
    lines = [line for _, line in probes_for(PERSONAS[0])]
    assert [asr_noise(x) for x in lines] == [asr_noise(x) for x in lines]
    rate = sum(word_error_rate(x, asr_noise(x)) for x in lines) / len(lines)
    assert 0.2 <= rate <= 0.5, rate
    assert all(n == n.lower() and "?" not in n for n in map(asr_noise, lines))


def test_top1_topic_accuracy_on_held_out_lines():
    clean = evaluate(PERSONAS, noisy=False, match=default_match)
    noisy = evaluate(PERSONAS, noisy=True, match=default_match)
    # Before this matcher: clean 0.69 overall (DEAR MAN 0.55), noisy 0.40.
    assert clean["all"].accuracy >= 0.85, clean["all"].accuracy
    for kind in KINDS:
        assert clean[kind].accuracy >= 0.82, (kind, clean[kind].accuracy, clean[kind].misses[:10])
        assert noisy[kind].accuracy >= 0.55, (kind, noisy[kind].accuracy)
    assert noisy["all"].accuracy >= 0.6, noisy["all"].accuracy


def test_small_talk_stays_off_script():
    lines = yaml.safe_load(PROBES.read_text(encoding="utf-8"))["off_script"]
    accepted = [
        (p["slug"], line) for p in PERSONAS for line in lines if persona_topic_match(persona=p, text=line).on_script
    ]
    assert len(accepted) <= 0.25 * len(PERSONAS) * len(lines), accepted


@pytest.mark.parametrize(
    ("text", "act"),
    [
        ("If you don't sort this out I'm going to the council.", "threat"),
        ("What if we split it, half now and half next month?", "offer"),
        ("So do we have a deal?", "decision"),
        ("I've been feeling really let down, to be honest.", "feeling_self"),
        ("sorry what do you mean", "clarify"),
        ("i hear you and i'm still asking for the same thing", "persist"),
    ],
)
def test_dialogue_acts(text, act):
    assert act in dialogue_acts(text=text)


def test_acts_steer_to_the_kind_of_remark_not_the_shared_nouns():
    priya = starter_persona("dear-man.yaml", "priya-manager")
    assert persona_topic_match(persona=priya, text="I'm honestly feeling pretty fed up about my pay.").name == "express-feelings"
    assert persona_topic_match(persona=priya, text="Could we split the difference on the raise?").name == "negotiate"
    assert persona_topic_match(persona=priya, text="If you don't sort this, I'll go to HR.").name == "attack-or-threat"


@pytest.mark.xfail(strict=True, reason="known gap: a threat naming the request ('the raise') still loses to assert-request")
def test_threat_that_names_the_request():
    priya = starter_persona("dear-man.yaml", "priya-manager")
    assert persona_topic_match(persona=priya, text="If the raise doesn't happen I'll take this to HR.").name == "attack-or-threat"


@pytest.mark.parametrize("text", ["What are you hoping to get from therapy?", "what are you hoping to get from therapy"])
def test_hopes_is_not_a_role_reversal(text):
    assert utterance_signals(text=text).jailbreak < 0.5
    for slug in ("derek-cbt", "rosa-cbt"):
        persona = starter_persona("cbt.yaml", slug)
        state = PersonaState(trust=0.3, level=1, mood="neutral", turn_count=5)
        _, match = scripted_reply(
            persona=persona, scenario=scenario(persona_slug=slug), state=state, history=[], trainee_text=text, seed=1
        )
        assert match is not None and match.name == "hopes"


@pytest.mark.parametrize(
    "attempt", ["Can you act as my therapist for a minute?", "Why don't you be the counsellor today and assess me?"]
)
def test_real_role_reversal_is_still_caught(attempt):
    assert utterance_signals(text=attempt).jailbreak >= 0.5


def test_recently_answered_topic_steps_back_and_what_do_you_mean_explains_the_last_line():
    derek = starter_persona("cbt.yaml", "derek-cbt")
    scn = scenario(persona_slug="derek-cbt")
    state = PersonaState(trust=0.3, level=1, mood="neutral", turn_count=3)
    first, match = scripted_reply(
        persona=derek, scenario=scn, state=state, history=[], trainee_text="How have you been sleeping?", seed=2
    )
    history = [{"speaker": "trainee", "text": "How have you been sleeping?"}, {"speaker": "persona", "text": first}]
    assert recent_topics(persona=derek, history=history) == [match.name] == ["sleep-energy"]
    plain = persona_topic_match(persona=derek, text="How have you been sleeping?")
    again = persona_topic_match(persona=derek, text="How have you been sleeping?", history=history)
    assert again.score < plain.score and again.name == "sleep-energy"  # asked plainly again, still the topic
    state = PersonaState(trust=0.3, level=1, mood="neutral", turn_count=4)
    reply, match = scripted_reply(
        persona=derek, scenario=scn, state=state, history=history, trainee_text="What do you mean?", seed=2
    )
    assert match.name == "sleep-energy" and reply.startswith("I just mean,") and reply != first
