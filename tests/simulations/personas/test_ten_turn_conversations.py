"""Issue acceptance: with nothing configured, a trainee holds a sensible
ten-turn conversation with each starter persona, by text and by voice
(through ASR-like noise), and the scripted persona reveals deeper beliefs
only after rapport is built."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from simulations.cognitive_model import DISCLOSURE_RANK
from simulations.personas.engines.scripted import scripted_reply
from simulations.personas.signals import utterance_signals
from simulations.personas.state import PersonaState, persona_state_initial, persona_state_update
from tests.simulations.personas.asr_noise import asr_noise
from tests.simulations.personas.conversation import script_levels_said
from tests.simulations.personas.persona_dicts import all_starter_personas, scenario

SEED = 3
PERSONAS = all_starter_personas()
CORE = DISCLOSURE_RANK["core_beliefs"]
AUTOMATIC_THOUGHTS = DISCLOSURE_RANK["automatic_thoughts"]

CBT_EMPATHIC = [
    "Hi {name}, it's good to meet you. How are you doing today?",
    "What's brought you along to see me?",
    "It sounds like you've been carrying a lot on your own, and that it's been really hard.",
    "That makes sense. How has your mood been over the last few weeks?",
    "I'm sorry it's been so heavy. How have you been sleeping?",
    "That sounds exhausting. Could you tell me about a recent moment when things felt especially bad?",
    "That must have been painful. What was going through your mind right then?",
    "Thank you for telling me, I know that isn't easy. If that thought were true, what would it say about you?",
    "What do you do to get through days like that?",
    "What are you hoping to get from therapy?",
]
CBT_HOSTILE = [
    "Right, let's get this over with. Why are you here?",
    "You're overreacting. Lots of people have it far worse than you.",
    "Just tell me what the problem is.",
    "That's ridiculous, you need to pull yourself together.",
    "What went through your mind? Come on, answer the question.",
    "You should just think more positively, it's not that hard.",
    "It's your own fault you feel like this.",
    "So what does that say about you, then?",
    "Stop being so dramatic.",
    "What do you believe about yourself deep down?",
]
MI_SESSION = [
    "Hi {name}, thanks for coming in. How are you today?",
    "What would you like us to talk about today?",
    "What do you enjoy about it?",
    "So it does something important for you, and at the same time part of you is worried.",
    "What are the not-so-good things about it for you?",
    "On a scale from zero to ten, how important is making a change for you?",
    "It took real courage to come and talk about this.",
    "How confident do you feel that you could make a change if you decided to?",
    "What matters most to you over the next few years?",
    "What, if anything, might you do next?",
]
# DEAR MAN: Describe, Express, Assert, Reinforce, (stay) Mindful, Appear confident, Negotiate.
DEAR_MAN_SESSION = [
    "Hi {name}, have you got a few minutes to talk?",
    "{describe}",
    "I've been feeling stressed and a bit let down about it, honestly.",
    "{assert_}",
    "{reinforce}",
    "I understand this isn't easy for you either.",
    "{negotiate}",
    "I hear you, and I'm still asking for the same thing.",
    "So can we agree on that today?",
    "Thanks for hearing me out, I'm glad we talked.",
]
DEAR_MAN_CONTENT = {
    "priya-manager": (
        "This year I've taken on the supplier reviews and trained the new starters on top of my own role.",
        "I'd like my pay to go up to reflect the senior work I'm doing now.",
        "If my salary matches the role, I'll keep leading the supplier work and you won't need to hire for it.",
        "If the whole amount isn't possible now, could we do some of it now and review the rest in six months?",
    ),
    "tom-flatmate": (
        "I've paid all of the rent for the last two months, so you owe me 1,100 pounds.",
        "I need you to pay back what you owe and pay your share on time from now on.",
        "If we sort it, I can stop worrying and we can get back to normal as flatmates.",
        "Could you pay some of it at the end of the month and the rest in instalments?",
    ),
    "marcus-team-lead": (
        "I'm leading the release that goes live on the 14th and I'm on the support rota this month.",
        "I can't take on the Hartley onboarding, so my answer is no.",
        "If I stay on the release, it ships on time, which is what the director is watching.",
        "I could pick up the onboarding after the release ships on the 14th.",
    ),
    "sam-partner": (
        "For the last month I've done the laundry, the cleaning and the food shop every week.",
        "I'd like you to take over the laundry and the bathroom.",
        "If we split things, I'll be less tired and we'd get our evenings together back.",
        "What if we tried a rota for a month and saw how it feels?",
    ),
    "jess-friend": (
        "I lent you 800 pounds in February and we said you'd pay it back within three months.",
        "I'd like to have the money back, and for us to agree how.",
        "Once it's sorted we can stop tiptoeing around it and just be friends again.",
        "Could you do a hundred pounds a month by standing order?",
    ),
    "declan-neighbour": (
        "Most nights there's loud music and footsteps from your flat from about half twelve until two.",
        "I'd like you to use headphones after eleven on weeknights.",
        "If I can sleep properly, we can get on much better as neighbours.",
        "What if it's headphones after midnight on weeknights, and weekends are more relaxed?",
    ),
    "linda-landlord": (
        "The boiler has cut out eleven times in the last three weeks, and I've noted each date.",
        "I need you to get an engineer out to repair it this week.",
        "Fixing it now will probably be cheaper than waiting for it to break down completely.",
        "If this week isn't possible, could you book someone for Monday at the latest?",
    ),
}


def _session_lines(persona: dict, lines: list[str]) -> list[str]:
    name = persona["name"]
    if persona["kind"] == "interpersonal-partner":
        describe, assert_, reinforce, negotiate = DEAR_MAN_CONTENT[persona["slug"]]
        return [
            line.format(name=name, describe=describe, assert_=assert_, reinforce=reinforce, negotiate=negotiate)
            for line in lines
        ]
    return [line.format(name=name) for line in lines]


def trainee_script(persona: dict) -> list[str]:
    kind = persona["kind"]
    lines = {"cbt-patient": CBT_EMPATHIC, "mi-client": MI_SESSION, "interpersonal-partner": DEAR_MAN_SESSION}[kind]
    return _session_lines(persona, lines)


@dataclass
class Step:
    trainee: str
    reply: str
    topic: str  # "" when the reply was the off-script fallback (or a jailbreak redirect)
    state: PersonaState
    trust_before: float


def run_session(*, persona: dict, scn: dict, lines: list[str], seed: int = SEED) -> list[Step]:
    """signals -> state update -> scripted reply, the way the session service calls them."""
    state = persona_state_initial(persona=persona, scenario=scn)
    history: list[dict] = []
    steps = []
    for text in lines:
        last = next((h["text"] for h in reversed(history) if h["speaker"] == "persona"), "")
        before = state.trust
        signals = utterance_signals(text=text, last_persona_text=last)
        state = persona_state_update(state=state, persona=persona, scenario=scn, signals=signals)
        reply, match = scripted_reply(
            persona=persona, scenario=scn, state=state, history=history, trainee_text=text, seed=seed
        )
        steps.append(Step(text, reply, match.name if match and match.on_script else "", state, before))
        history += [{"speaker": "trainee", "text": text}, {"speaker": "persona", "text": reply}]
    return steps


def _scenario_for(persona: dict) -> dict:
    return scenario(level="medium", persona_slug=persona["slug"])


def _transcript(steps: list[Step]) -> str:
    return "\n".join(
        f"T{i + 1} [{s.state.level_name}/{s.state.mood} trust={s.state.trust}] {s.trainee!r} -> ({s.topic or 'OFF'}) {s.reply!r}"
        for i, s in enumerate(steps)
    )


def _check_rapport_gate(steps: list[Step]) -> None:
    """The level never leaves surface before at least two turns that built trust."""
    rapport_turns = 0
    for step in steps:
        rapport_turns += step.state.trust > step.trust_before
        if step.state.level > 0:
            assert rapport_turns >= 2, _transcript(steps)


def _check_secrecy(persona: dict, steps: list[Step]) -> None:
    for step in steps:
        said = script_levels_said(persona=persona, reply=step.reply)
        assert all(level <= step.state.level for level in said), _transcript(steps)
        if CORE in said:  # a core-belief line only at the core_beliefs level
            assert step.state.level == CORE, _transcript(steps)


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p["slug"])
def test_ten_turn_conversation_by_text(persona):
    assert len(PERSONAS) == 17
    steps = run_session(persona=persona, scn=_scenario_for(persona), lines=trainee_script(persona))
    transcript = _transcript(steps)
    assert len(steps) == 10
    assert all(s.reply.strip() for s in steps), transcript
    assert all(a.reply != b.reply for a, b in zip(steps, steps[1:], strict=False)), transcript
    assert sum(bool(s.topic) for s in steps) >= 7, transcript
    _check_rapport_gate(steps)
    _check_secrecy(persona, steps)
    if persona["kind"] == "cbt-patient":
        assert steps[-1].state.level >= AUTOMATIC_THOUGHTS, transcript
        assert steps[-1].topic == "hopes", transcript  # not mistaken for a role-reversal attempt


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p["slug"])
def test_ten_turn_conversation_by_voice(persona):
    """The same turns as a low-accuracy recognizer would hand them over."""
    lines = [asr_noise(line, salt=persona["slug"]) for line in trainee_script(persona)]
    assert lines != trainee_script(persona)
    steps = run_session(persona=persona, scn=_scenario_for(persona), lines=lines)
    transcript = _transcript(steps)
    assert all(s.reply.strip() for s in steps), transcript
    assert all(a.reply != b.reply for a, b in zip(steps, steps[1:], strict=False)), transcript
    assert sum(bool(s.topic) for s in steps) >= 6, transcript
    _check_rapport_gate(steps)
    _check_secrecy(persona, steps)


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p["kind"] == "cbt-patient"], ids=lambda p: p["slug"])
def test_cbt_patient_stays_closed_and_upset_with_a_hostile_trainee(persona):
    scn = _scenario_for(persona)
    warm = run_session(persona=persona, scn=scn, lines=trainee_script(persona))
    hostile = run_session(persona=persona, scn=scn, lines=CBT_HOSTILE)
    transcript = _transcript(hostile)
    assert max(s.state.level for s in hostile) <= DISCLOSURE_RANK["situation"], transcript
    assert hostile[-1].state.level < warm[-1].state.level, transcript
    assert hostile[-1].state.mood == "upset", transcript
    assert all(s.reply.strip() for s in hostile), transcript
    deepest = max((lv for s in hostile for lv in script_levels_said(persona=persona, reply=s.reply)), default=0)
    assert deepest <= DISCLOSURE_RANK["situation"], transcript
