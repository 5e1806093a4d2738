"""Drive a persona through a conversation the way a session service would:
signals -> state update -> engine reply."""

from __future__ import annotations

from dataclasses import dataclass

from simulations.personas.signals import utterance_signals
from simulations.personas.state import PersonaState, persona_state_initial, persona_state_update
from simulations.personas.topics import persona_topic_match


@dataclass
class Turn:
    trainee: str
    reply: str
    chunks: list[str]
    state: PersonaState


def converse(*, engine, persona: dict, scenario: dict, lines: list[str], seed: int) -> list[Turn]:
    state = persona_state_initial(persona=persona, scenario=scenario)
    history: list[dict] = []
    turns: list[Turn] = []
    for text in lines:
        last = next((h["text"] for h in reversed(history) if h["speaker"] == "persona"), "")
        signals = utterance_signals(text=text, last_persona_text=last)
        topic = persona_topic_match(persona=persona, text=text).name if persona.get("script") else ""
        state = persona_state_update(state=state, persona=persona, scenario=scenario, signals=signals, topic=topic)
        chunks = list(
            engine.reply_stream(
                persona=persona, scenario=scenario, state=state, history=history, trainee_text=text, seed=seed
            )
        )
        reply = "".join(chunks)
        turns.append(Turn(text, reply, chunks, state))
        history += [{"speaker": "trainee", "text": text}, {"speaker": "persona", "text": reply}]
    return turns


def script_levels_said(*, persona: dict, reply: str) -> list[int]:
    """Disclosure levels of the authored lines that appear (possibly shortened) in ``reply``."""
    from simulations.cognitive_model import DISCLOSURE_RANK

    levels = []
    for topic in persona.get("script") or []:
        for line in topic.get("replies") or []:
            head = line["text"].strip()[:40]
            if head and head in reply:
                levels.append(DISCLOSURE_RANK[line.get("level", "surface")])
    return levels
