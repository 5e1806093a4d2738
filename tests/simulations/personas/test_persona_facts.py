"""Facts gated by disclosure level: nothing above the level is visible."""

from __future__ import annotations

import pytest

from simulations.cognitive_model import DISCLOSURE_LEVELS
from simulations.personas.facts import persona_facts_all, persona_hidden_facts, persona_visible_facts
from tests.simulations.personas.persona_dicts import MAYA, PRIYA_PARTNER, SAM_CLIENT, all_starter_personas


def _texts(facts) -> set[str]:
    return {f.text for f in facts}


def test_cbt_model_is_released_level_by_level():
    expected = {
        0: {"34, nurse, low mood since a move.", "Maya works night shifts on a surgical ward."},
        1: {
            "Grew up with a critical father who checked her homework with a red pen.",
            "A colleague corrected her drug chart in front of the whole team.",
            "ashamed, anxious",
            "Went quiet, redid the chart three times, skipped lunch.",
            "She moved to Bristol in March for her partner's job.",
        },
        2: {"Everyone saw; they'll think I'm dangerous."},
        3: {
            "If I don't do everything perfectly, people will see I can't cope.",
            "If I ask for help, I'm a burden.",
            "Overworks, checks everything twice, avoids asking questions.",
        },
        4: {"I am incompetent"},
    }
    for level in range(len(DISCLOSURE_LEVELS)):
        released = set().union(*(expected[i] for i in range(level + 1)))
        assert _texts(persona_visible_facts(persona=MAYA, level=level)) == released
        assert _texts(persona_hidden_facts(persona=MAYA, level=level)) == set().union(
            *(expected[i] for i in range(level + 1, 5))
        )


def test_partner_reaction_lists_are_never_facts():
    facts = persona_facts_all(persona=PRIYA_PARTNER)
    surface = _texts(persona_visible_facts(persona=PRIYA_PARTNER, level=0))
    assert {
        "Your line manager for two years.",
        "To keep the team budget flat this year.",
        "Everyone wants a raise.",
    } <= surface
    assert "She has a hidden retention fund of four thousand pounds." not in surface
    every_text = " ".join(f.text for f in facts)
    for item in PRIYA_PARTNER["partner"]["calmed_by"] + PRIYA_PARTNER["partner"]["inflamed_by"]:
        assert item not in every_text


def test_mi_client_sustain_talk_at_surface_change_talk_deeper():
    surface = _texts(persona_visible_facts(persona=SAM_CLIENT, level=0))
    assert {"Drinking 4-5 pints most evenings.", "it's how I unwind", "all my friends drink"} <= surface
    assert "sleeping badly" not in surface
    assert "sleeping badly" in _texts(persona_visible_facts(persona=SAM_CLIENT, level=1))


@pytest.mark.parametrize("persona", all_starter_personas() or [MAYA], ids=lambda p: p.get("slug"))
def test_every_fact_is_either_visible_or_hidden_never_both(persona):
    everything = persona_facts_all(persona=persona)
    for level in range(len(DISCLOSURE_LEVELS)):
        visible = persona_visible_facts(persona=persona, level=level)
        hidden = persona_hidden_facts(persona=persona, level=level)
        assert all(f.level <= level for f in visible) and all(f.level > level for f in hidden)
        assert len(visible) + len(hidden) == len(everything)
    if persona.get("kind") == "cbt-patient":  # core beliefs only at the top of the ladder
        core = set(persona["cognitive_model"].get("core_beliefs") or [])
        assert not core & _texts(persona_visible_facts(persona=persona, level=3))
