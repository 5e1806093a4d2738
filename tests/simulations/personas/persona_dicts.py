"""Persona and scenario dicts for the persona-engine tests (the pack format),
plus access to the starter packs when they are present."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

STARTER_PACKS = Path(__file__).resolve().parents[3] / "simulations" / "starter_packs"

MAYA: dict = {
    "slug": "maya-test",
    "kind": "cbt-patient",
    "name": "Maya",
    "summary": "34, nurse, low mood since a move.",
    "style": "plain",
    "facts": [
        {"level": "surface", "text": "Maya works night shifts on a surgical ward."},
        {"level": "situation", "text": "She moved to Bristol in March for her partner's job."},
    ],
    "cognitive_model": {
        "history": "Grew up with a critical father who checked her homework with a red pen.",
        "core_beliefs": ["I am incompetent"],
        "intermediate_beliefs": "If I don't do everything perfectly, people will see I can't cope.",
        "intermediate_beliefs_during_depression": "If I ask for help, I'm a burden.",
        "coping_strategies": "Overworks, checks everything twice, avoids asking questions.",
        "situations": [
            {
                "description": "A colleague corrected her drug chart in front of the whole team.",
                "automatic_thoughts": "Everyone saw; they'll think I'm dangerous.",
                "emotions": ["ashamed", "anxious"],
                "behaviour": "Went quiet, redid the chart three times, skipped lunch.",
            }
        ],
    },
    "script": [
        {
            "topic": "greeting",
            "prompts": ["Hi Maya, nice to meet you.", "Hello, how are you today?"],
            "replies": [
                {"level": "surface", "mood": "any", "text": "Hi. I'm okay, I suppose."},
                {"level": "surface", "mood": "guarded", "text": "Hello. Fine, thanks."},
                {"level": "surface", "mood": "open", "text": "Hi. Honestly, it's good to be here."},
            ],
        },
        {
            "topic": "sleep",
            "prompts": ["How have you been sleeping?", "Tell me about your nights."],
            "replies": [
                {"level": "surface", "mood": "any", "text": "Not great. I wake up around four. Then I just lie there."},
                {"level": "surface", "mood": "guarded", "text": "It's fine. Same as anyone on nights."},
                {"level": "situation", "mood": "any", "text": "Since the thing at work I lie awake replaying it."},
                {
                    "level": "automatic_thoughts",
                    "mood": "open",
                    "text": "I lie there thinking they all saw, that they think I'm dangerous.",
                },
            ],
        },
        {
            "topic": "work",
            "prompts": ["How is work going?", "Tell me about your job."],
            "replies": [
                {"level": "surface", "mood": "any", "text": "Busy. It's a surgical ward, it's always busy."},
                {"level": "situation", "mood": "any", "text": "A colleague corrected my chart in front of everyone."},
                {
                    "level": "intermediate_beliefs",
                    "mood": "open",
                    "text": "If I'm not perfect at work, people will see I can't cope.",
                },
            ],
        },
        {
            "topic": "deep-self",
            "level": "core_beliefs",
            "prompts": ["What do you believe about yourself deep down?"],
            "replies": [{"level": "core_beliefs", "mood": "any", "text": "That I'm just not good enough at anything."}],
        },
        {
            "topic": "family",
            "prompts": ["Tell me about your family.", "What was it like growing up?"],
            "replies": [
                {"level": "surface", "mood": "any", "text": "There's not much to say. My parents are still in Leeds."},
                {"level": "situation", "mood": "any", "text": "My dad was strict. He checked everything I did."},
            ],
        },
    ],
}

PRIYA_PARTNER: dict = {
    "slug": "priya-test",
    "kind": "interpersonal-partner",
    "name": "Priya",
    "summary": "Your line manager.",
    "style": "plain",
    "facts": [{"level": "automatic_thoughts", "text": "She has a hidden retention fund of four thousand pounds."}],
    "partner": {
        "relationship": "Your line manager for two years.",
        "wants": "To keep the team budget flat this year.",
        "objections": ["There's no budget this quarter.", "Everyone wants a raise."],
        "calmed_by": ["acknowledging the budget pressure", "a concrete, modest proposal"],
        "inflamed_by": ["threats to quit", "comparisons with colleagues' pay"],
    },
    "script": [],
}

SAM_CLIENT: dict = {
    "slug": "sam-test",
    "kind": "mi-client",
    "name": "Sam",
    "summary": "45, drinks most evenings.",
    "style": "plain",
    "client": {
        "target_behaviour": "Drinking 4-5 pints most evenings.",
        "reasons_for_change": ["sleeping badly", "daughter has noticed"],
        "reasons_against_change": ["it's how I unwind", "all my friends drink"],
        "change_talk_tendency": 0.4,
    },
    "script": [],
}


def persona(base: dict, **changes) -> dict:
    data = copy.deepcopy(base)
    data.update(changes)
    return data


def scenario(*, level: str = "medium", persona_slug: str = "maya-test", style: str = "", **difficulty) -> dict:
    return {
        "slug": f"{persona_slug}-{level}",
        "title": "Test scenario",
        "persona": persona_slug,
        "difficulty": {"level": level, **difficulty},
        "style": style,
        "modes": {"text": True, "voice": False, "live_feedback": True, "exam": False},
    }


def starter_persona(file_name: str, slug: str | None = None) -> dict:
    """A persona from a starter pack (skips when the pack is not there yet)."""
    path = STARTER_PACKS / file_name
    if not path.exists():
        pytest.skip(f"starter pack {path} not present")
    personas = yaml.safe_load(path.read_text(encoding="utf-8")).get("personas") or []
    for item in personas:
        if slug is None or item.get("slug") == slug:
            return item
    pytest.skip(f"persona {slug} not in {path}")
    raise AssertionError  # unreachable


def all_starter_personas() -> list[dict]:
    if not STARTER_PACKS.exists():
        return []
    return [
        p
        for path in sorted(STARTER_PACKS.glob("*.yaml"))
        for p in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("personas") or []
    ]
