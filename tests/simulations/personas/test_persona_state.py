"""State rules: rapport raises trust, harm lowers it (more on hard), disclosure
follows trust and never drops, presets change the pace, partners concede."""

from __future__ import annotations

import json

import pytest

from simulations.personas.difficulty import DIFFICULTY_PRESETS, difficulty_resolve
from simulations.personas.signals import UtteranceSignals, utterance_signals
from simulations.personas.state import PersonaState, persona_state_initial, persona_state_update
from tests.simulations.personas.persona_dicts import MAYA, PRIYA_PARTNER, SAM_CLIENT, scenario

EMPATHIC = UtteranceSignals(text="That sounds really hard.", empathy=0.9, validation=0.6)
REFLECTIVE = UtteranceSignals(text="So you lie awake replaying it.", reflection=0.9, empathy=0.3)
NEUTRAL = UtteranceSignals(text="Okay.")
JUDGING = UtteranceSignals(text="You're overreacting.", judgement=0.9)
THREAT = UtteranceSignals(text="Give me the raise or I quit.", pressure=0.9)
DEAR_MAN = UtteranceSignals(text="I'd like a 4% raise; could we review it in June?", assertion=0.9, negotiation=0.8)


def _run(*, persona: dict, scn: dict, turns: list[UtteranceSignals]) -> PersonaState:
    state = persona_state_initial(persona=persona, scenario=scn)
    for signals in turns:
        state = persona_state_update(state=state, persona=persona, scenario=scn, signals=signals)
    return state


def test_initial_state_is_surface_and_guarded_with_the_situation_emotions():
    state = persona_state_initial(persona=MAYA, scenario=scenario(level="easy"))
    assert state.level == 0 and state.level_name == "surface"
    assert state.mood == "guarded"
    assert set(state.emotions) == {"ashamed", "anxious"}
    assert state.history == [{"turn": 0, "trust": state.trust, "level": 0, "mood": "guarded", "concession": 0.0}]
    partner = persona_state_initial(persona=PRIYA_PARTNER, scenario=scenario())
    assert set(partner.emotions) == {"anxious", "angry", "hurt"}


def test_empathy_raises_trust_and_neutral_talk_does_not():
    scn = scenario()
    start = persona_state_initial(persona=MAYA, scenario=scn)
    after_empathy = persona_state_update(state=start, persona=MAYA, scenario=scn, signals=EMPATHIC)
    after_neutral = persona_state_update(state=start, persona=MAYA, scenario=scn, signals=NEUTRAL)
    assert after_empathy.trust > start.trust + 0.05
    assert after_neutral.trust == pytest.approx(start.trust)
    assert start.turn_count == 0 and after_empathy.turn_count == 1  # update returns a new state


def test_real_signals_move_trust_the_right_way():
    scn = scenario()
    start = _run(persona=MAYA, scn=scn, turns=[EMPATHIC, EMPATHIC])
    kind = utterance_signals(text="I'm so sorry, that sounds exhausting. It makes sense you feel shaken.")
    harsh = utterance_signals(text="Honestly, you're overreacting. It's your own fault.")
    up = persona_state_update(state=start, persona=MAYA, scenario=scn, signals=kind)
    down = persona_state_update(state=start, persona=MAYA, scenario=scn, signals=harsh)
    assert up.trust > start.trust > down.trust


def test_judgement_lowers_trust_more_on_hard_and_upsets_only_the_hostile():
    drops, moods = {}, {}
    for level in ("easy", "hard"):
        scn = scenario(level=level)
        # same starting trust on both so only the difficulty differs
        state = PersonaState(trust=0.5, level=2, emotions={"ashamed": 0.5}, mood="open")
        after = persona_state_update(state=state, persona=MAYA, scenario=scn, signals=JUDGING)
        drops[level], moods[level] = state.trust - after.trust, after.mood
        assert after.emotions["ashamed"] > 0.5  # judgement stirs shame
    assert drops["hard"] > drops["easy"] > 0
    assert moods["hard"] == "upset" and moods["easy"] != "upset"


def test_disclosure_needs_rapport_over_several_turns():
    scn = scenario(level="medium")
    one = _run(persona=MAYA, scn=scn, turns=[EMPATHIC])
    assert one.level <= 1  # one kind sentence is not a therapeutic alliance
    many = _run(persona=MAYA, scn=scn, turns=[EMPATHIC, REFLECTIVE] * 5)
    assert many.level == 4 and many.mood == "open"
    cold = _run(persona=MAYA, scn=scn, turns=[NEUTRAL] * 10)
    assert cold.level == 0


def test_disclosure_level_never_drops_once_reached():
    scn = scenario(level="hard")
    state = _run(persona=MAYA, scn=scn, turns=[EMPATHIC, REFLECTIVE] * 3)
    reached = state.level
    assert reached >= 1
    for _ in range(4):
        state = persona_state_update(state=state, persona=MAYA, scenario=scn, signals=JUDGING)
    assert state.trust < difficulty_resolve(scenario=scn).disclosure_thresholds[0]
    assert state.level == reached


def _turns_to_core(level: str) -> int:
    scn = scenario(level=level)
    state = persona_state_initial(persona=MAYA, scenario=scn)
    for turn in range(1, 60):
        state = persona_state_update(state=state, persona=MAYA, scenario=scn, signals=EMPATHIC)
        if state.level == 4:
            return turn
    return 60


def test_difficulty_presets_change_the_pace():
    easy, medium, hard = (_turns_to_core(level) for level in ("easy", "medium", "hard"))
    assert easy < medium < hard < 60


def test_scenario_overrides_beat_the_preset():
    resolved = difficulty_resolve(
        scenario=scenario(level="hard", trust_gain=2.0, disclosure_thresholds=[0.1, 0.2, 0.3, 0.4])
    )
    assert resolved.trust_gain == 2.0 and resolved.disclosure_thresholds == (0.1, 0.2, 0.3, 0.4)
    assert resolved.hostility == DIFFICULTY_PRESETS["hard"].hostility
    fast = _run(
        persona=MAYA,
        scn=scenario(level="hard", trust_gain=2.0, disclosure_thresholds=[0.1, 0.2, 0.3, 0.4]),
        turns=[EMPATHIC] * 3,
    )
    slow = _run(persona=MAYA, scn=scenario(level="hard"), turns=[EMPATHIC] * 3)
    assert fast.level > slow.level


def test_dear_man_partner_concedes_to_skills_and_digs_in_under_threats():
    easy, hard = scenario(level="easy", persona_slug="priya-test"), scenario(level="hard", persona_slug="priya-test")
    skilled_easy = _run(persona=PRIYA_PARTNER, scn=easy, turns=[DEAR_MAN] * 6)
    skilled_hard = _run(persona=PRIYA_PARTNER, scn=hard, turns=[DEAR_MAN] * 6)
    assert skilled_easy.concession > skilled_hard.concession > 0
    threatened = persona_state_update(state=skilled_easy, persona=PRIYA_PARTNER, scenario=easy, signals=THREAT)
    assert threatened.concession < skilled_easy.concession
    assert _run(persona=MAYA, scn=scenario(), turns=[DEAR_MAN] * 6).concession == 0.0  # CBT patients don't "concede"


def test_partner_triggers_move_concession():
    scn = scenario(persona_slug="priya-test")
    start = persona_state_initial(persona=PRIYA_PARTNER, scenario=scn)
    calm = persona_state_update(
        state=start,
        persona=PRIYA_PARTNER,
        scenario=scn,
        signals=UtteranceSignals(text="I know the budget is really tight this year."),
    )
    angry = persona_state_update(
        state=start,
        persona=PRIYA_PARTNER,
        scenario=scn,
        signals=UtteranceSignals(text="If this doesn't happen, I will resign."),
    )
    assert calm.concession > start.concession and calm.trust > start.trust
    assert angry.trust < start.trust and angry.agitation > start.agitation


def test_mi_client_change_talk_follows_reflections_not_lectures():
    scn = scenario(persona_slug="sam-test")
    reflected = _run(persona=SAM_CLIENT, scn=scn, turns=[REFLECTIVE] * 5)
    lectured = _run(persona=SAM_CLIENT, scn=scn, turns=[UtteranceSignals(text="You must stop.", lecturing=0.9)] * 5)
    assert reflected.concession > 0.05 and lectured.concession == 0.0


def test_state_round_trips_through_json_and_keeps_history():
    state = _run(persona=MAYA, scn=scenario(), turns=[EMPATHIC, JUDGING, REFLECTIVE])
    restored = PersonaState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state
    assert [h["turn"] for h in restored.history] == [0, 1, 2, 3]
    assert restored.history[2]["trust"] < restored.history[1]["trust"]  # the judgement is visible to instructors


def test_to_dict_is_asdict_and_shares_no_container_with_the_state():
    import dataclasses

    state = _run(persona=SAM_CLIENT, scn=scenario(persona_slug="sam-test"), turns=[EMPATHIC, JUDGING, REFLECTIVE])
    state.topics_covered.append("sleep")
    data = state.to_dict()
    assert data == dataclasses.asdict(state) and list(data) == list(dataclasses.asdict(state))
    data["emotions"]["x"] = 1.0
    data["history"][0]["trust"] = -1.0
    data["topics_covered"].append("y")
    assert "x" not in state.emotions and state.history[0]["trust"] != -1.0 and "y" not in state.topics_covered


def test_topics_covered_are_recorded_once():
    scn = scenario()
    state = persona_state_initial(persona=MAYA, scenario=scn)
    for topic in ("sleep", "work", "sleep"):
        state = persona_state_update(state=state, persona=MAYA, scenario=scn, signals=NEUTRAL, topic=topic)
    assert state.topics_covered == ["sleep", "work"]
