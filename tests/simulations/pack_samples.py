"""A small valid pack (one of each section) used by the pack tests."""

from __future__ import annotations

import copy

import yaml

SMALL_PACK: dict = {
    "version": 1,
    "frameworks": [
        {
            "slug": "tiny-dear-man",
            "name": "Tiny DEAR MAN",
            "kind": "skill-rubric",
            "description": "Asking for what you want.",
            "labels": ["strong", "weak", "absent"],
            "skills": [
                {"slug": "describe", "name": "Describe", "definition": "Plain facts, no judgement."},
                {"slug": "assert", "name": "Assert", "definition": "Ask clearly.", "guidance": "Say the number."},
            ],
            "exemplars": [
                {
                    "skill": "describe",
                    "label": "strong",
                    "context": [{"speaker": "partner", "text": "What did you want to talk about?"}],
                    "utterance": "For three months I've covered the evening shift twice a week.",
                    "feedback": "Clear and factual.",
                    "source": "authored",
                },
                {"skill": "assert", "label": "weak", "utterance": "Maybe, if it's okay, more money?", "rewrite": "I'm asking for 42,000.", "source": "authored"},
            ],
        }
    ],
    "personas": [
        {
            "slug": "tiny-maya",
            "kind": "cbt-patient",
            "name": "Maya",
            "summary": "34, nurse, low mood since a move.",
            "style": "reserved",
            "voice": {"lang": "en-GB", "gender": "female", "pitch": 1.0, "rate": 1.0},
            "facts": [{"level": "situation", "text": "She moved cities in March."}],
            "cognitive_model": {
                "history": "Grew up with a critical father.",
                "core_beliefs": ["I am incompetent", "I am a failure, loser"],
                "intermediate_beliefs": "If I don't do everything perfectly, people will see I can't cope.",
                "coping_strategies": "Overworks, checks everything twice.",
                "situations": [
                    {
                        "description": "A colleague corrected her drug chart in front of the team.",
                        "automatic_thoughts": "Everyone saw; they'll think I'm dangerous.",
                        "emotions": ["ashamed", "anxious"],
                        "behaviour": "Went quiet.",
                    }
                ],
            },
            "script": [
                {
                    "topic": "greeting",
                    "prompts": ["Hello, how are you?"],
                    "replies": [{"level": "surface", "mood": "any", "text": "Fine, I suppose."}],
                }
            ],
        }
    ],
    "scenarios": [
        {
            "slug": "tiny-first-session",
            "title": "Maya: first session",
            "persona": "tiny-maya",
            "frameworks": ["tiny-dear-man"],
            "brief": "You are seeing Maya for the first time.",
            "learning_objectives": ["Build rapport"],
            "difficulty": {"level": "hard", "trust_gain": 0.8, "disclosure_thresholds": [0.2, 0.4, 0.6, 0.8]},
            "opening_line": "Hi. I'm not really sure what I'm supposed to say.",
            "time_limit_minutes": 20,
            "modes": {"text": True, "voice": False, "live_feedback": True, "exam": False},
        }
    ],
}


def small_pack(**changes) -> dict:
    """A deep copy of SMALL_PACK, for tests that break one thing."""
    pack = copy.deepcopy(SMALL_PACK)
    pack.update(changes)
    return pack


def as_yaml(pack: dict) -> str:
    return yaml.safe_dump(pack, sort_keys=False, allow_unicode=True)
