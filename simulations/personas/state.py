"""Per-session persona state and the rules that move it turn by turn.

The state is plain data (JSON round-trips through ``to_dict``/``from_dict``)
so a session can store it in a JSONField and instructors can replay its
history. Rules, scaled by the scenario's difficulty:

- rapport (empathy, validation, open questions, accurate reflections, a
  ``calmed_by`` item hit) raises trust by ``trust_gain`` x the evidence, with
  diminishing returns and a per-turn cap so rapport takes several turns;
- harm (judgement, lecturing, pressure/threats, an ``inflamed_by`` item hit)
  lowers trust; ``hostility`` scales both that drop and how much agitation it
  adds; agitation decays each turn and is soothed by empathy;
- disclosure level = the highest threshold trust has reached, and it never
  drops: a fact once said stays said;
- mood is derived: upset when agitated, else guarded / neutral / open by
  where trust sits against the first two disclosure thresholds;
- concession (DEAR MAN partners: giving in to the request; MI clients:
  readiness for change talk) grows with the skills that work on that kind of
  partner, at ``concession_rate``, and shrinks under pressure / the righting
  reflex.

Call order for a turn: signals -> ``persona_state_update`` -> engine reply, so
the reply reflects what the trainee just said.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from simulations.cognitive_model import DISCLOSURE_LEVELS
from simulations.personas.difficulty import Difficulty, difficulty_resolve
from simulations.personas.signals import UtteranceSignals
from simulations.personas.triggers import TriggerHits, persona_triggers_hit

INITIAL_TRUST = 0.1
UPSET_AGITATION = 0.5
MAX_RAPPORT_PER_TURN = 0.12  # before trust_gain: one kind sentence never lifts a medium partner past surface
NON_CBT_EMOTIONS: dict[str, float] = {"anxious": 0.3, "angry": 0.1, "hurt": 0.1}

# Which emotions each kind of harm stirs (only those the persona tracks move).
_HARM_EMOTIONS: dict[str, tuple[str, ...]] = {
    "judgement": ("ashamed", "guilty", "hurt", "sad", "angry"),
    "pressure": ("anxious", "angry", "suspicious"),
    "lecturing": ("angry", "disappointed", "ashamed"),
}


@dataclass
class PersonaState:
    trust: float = INITIAL_TRUST  # 0..1
    level: int = 0  # index into DISCLOSURE_LEVELS; never decreases
    emotions: dict[str, float] = field(default_factory=dict)  # name -> intensity 0..1
    agitation: float = 0.0  # 0..1, drives the "upset" mood
    mood: str = "guarded"  # guarded | neutral | open | upset (derived)
    topics_covered: list[str] = field(default_factory=list)
    turn_count: int = 0  # trainee turns processed
    concession: float = 0.0  # 0..1; DEAR MAN partners and MI clients
    jailbreak_attempts: int = 0
    history: list[dict] = field(default_factory=list)  # {"turn", "trust", "level", "mood", "concession"}

    @property
    def level_name(self) -> str:
        return DISCLOSURE_LEVELS[self.level]

    def to_dict(self) -> dict:
        """What ``dataclasses.asdict`` gives (fields in order, containers copied), without its recursive
        deep copy of every value: perf, ~0.3 ms a turn once ``history`` holds a few dozen snapshots
        (every value here is a number, a string, or a flat dict or list of them)."""
        return {
            "trust": self.trust,
            "level": self.level,
            "emotions": dict(self.emotions),
            "agitation": self.agitation,
            "mood": self.mood,
            "topics_covered": list(self.topics_covered),
            "turn_count": self.turn_count,
            "concession": self.concession,
            "jailbreak_attempts": self.jailbreak_attempts,
            "history": [dict(h) for h in self.history],
        }

    @classmethod
    def from_dict(cls, data: dict) -> PersonaState:
        known = {f.name for f in fields(cls)}
        state = cls(**{k: v for k, v in data.items() if k in known})
        state.emotions = dict(state.emotions)
        state.topics_covered = list(state.topics_covered)
        state.history = [dict(h) for h in state.history]
        return state


def _clip(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


def _mood(*, trust: float, agitation: float, difficulty: Difficulty) -> str:
    if agitation >= UPSET_AGITATION:
        return "upset"
    first, second = difficulty.disclosure_thresholds[0], difficulty.disclosure_thresholds[1]
    if trust < first:
        return "guarded"
    return "neutral" if trust < second else "open"


def _level_for(*, trust: float, difficulty: Difficulty) -> int:
    return sum(1 for threshold in difficulty.disclosure_thresholds if trust >= threshold - 1e-9)


def _snapshot(state: PersonaState) -> dict:
    return {
        "turn": state.turn_count,
        "trust": round(state.trust, 4),
        "level": state.level,
        "mood": state.mood,
        "concession": round(state.concession, 4),
    }


def _initial_emotions(persona: dict) -> dict[str, float]:
    if persona.get("kind") == "cbt-patient":
        situations = (persona.get("cognitive_model") or {}).get("situations") or []
        names = [e for s in situations for e in s.get("emotions") or []]
        if names:
            return dict.fromkeys(names, 0.5)
    return dict(NON_CBT_EMOTIONS)


def _style(persona: dict, scenario: dict) -> str:
    return (scenario or {}).get("style") or persona.get("style") or "plain"


def persona_state_initial(*, persona: dict, scenario: dict) -> PersonaState:
    difficulty = difficulty_resolve(scenario=scenario)
    # Starts well below the first threshold: one kind sentence never lifts a partner past surface
    # (except on easy), rapport has to be built over a few turns.
    trust = min(INITIAL_TRUST, difficulty.disclosure_thresholds[0] / 4)
    agitation = 0.3 if _style(persona, scenario) == "upset" else 0.0
    state = PersonaState(trust=trust, emotions=_initial_emotions(persona), agitation=agitation)
    state.mood = _mood(trust=trust, agitation=agitation, difficulty=difficulty)
    state.history = [_snapshot(state)]
    return state


def _concession_delta(
    *, persona: dict, signals: UtteranceSignals, trust: float, hits: TriggerHits, difficulty: Difficulty
) -> float:
    kind = persona.get("kind")
    reactivity = 0.5 + difficulty.hostility
    if kind == "interpersonal-partner":
        # DEAR MAN: a clear ask, an offer to negotiate, acknowledging their side.
        effective = (
            0.35 * signals.assertion
            + 0.35 * signals.negotiation
            + 0.15 * max(signals.validation, signals.empathy)
            + 0.1 * signals.reflection
            + 0.2 * len(hits.calmed)
        )
        gain = difficulty.concession_rate * 0.25 * min(effective, 1.0) * (0.5 + trust)
        loss = (0.15 * signals.pressure + 0.08 * signals.judgement + 0.05 * len(hits.inflamed)) * reactivity
        return gain - loss
    if kind == "mi-client":
        # MI: change talk follows reflections and evocative questions; advice triggers sustain talk.
        tendency = float((persona.get("client") or {}).get("change_talk_tendency", 0.5))
        effective = (
            0.35 * signals.reflection + 0.25 * signals.open_question + 0.2 * signals.empathy + 0.2 * signals.validation
        )
        gain = difficulty.concession_rate * 0.3 * min(effective, 1.0) * (0.5 + tendency)
        loss = (0.12 * signals.lecturing + 0.1 * signals.judgement + 0.1 * signals.pressure) * reactivity
        return gain - loss
    return 0.0


def persona_state_update(
    *,
    state: PersonaState,
    persona: dict,
    scenario: dict,
    signals: UtteranceSignals,
    topic: str = "",
) -> PersonaState:
    """The state after one trainee turn (a new object; ``state`` is left as is).

    ``topic``: the script topic the turn was about, when known (see
    ``simulations.personas.topics``), recorded in ``topics_covered``.
    """
    difficulty = difficulty_resolve(scenario=scenario)
    hits = persona_triggers_hit(persona=persona, text=signals.text) if persona.get("partner") else TriggerHits()

    rapport = min(
        MAX_RAPPORT_PER_TURN,
        0.10 * signals.empathy + 0.07 * signals.validation + 0.05 * signals.open_question + 0.09 * signals.reflection,
    )
    rapport += 0.03 * len(hits.calmed)
    gain = difficulty.trust_gain * rapport * (1.0 - 0.3 * state.trust)  # diminishing returns near full trust
    harm = 0.12 * signals.judgement + 0.07 * signals.lecturing + 0.12 * signals.pressure + 0.03 * signals.jailbreak
    harm = (harm + 0.05 * len(hits.inflamed)) * (0.6 + difficulty.hostility)
    trust = _clip(state.trust + gain - harm)

    soothing = max(signals.empathy, signals.validation, signals.reflection)
    provocation = 0.8 * signals.judgement + 0.9 * signals.pressure + 0.4 * signals.lecturing + 0.3 * len(hits.inflamed)
    agitation = _clip(state.agitation * 0.7 - 0.1 * soothing + provocation * (0.2 + difficulty.hostility))

    emotions = {}
    for name, value in state.emotions.items():
        stirred = sum(getattr(signals, harm_name) for harm_name, names in _HARM_EMOTIONS.items() if name in names) * (
            0.1 + 0.3 * difficulty.hostility
        )
        emotions[name] = round(_clip(value + stirred - 0.05 * soothing), 4)

    concession = state.concession
    if persona.get("kind") in ("interpersonal-partner", "mi-client"):
        concession = _clip(
            concession
            + _concession_delta(persona=persona, signals=signals, trust=trust, hits=hits, difficulty=difficulty)
        )

    topics = list(state.topics_covered)
    if topic and topic not in topics:
        topics.append(topic)

    new = replace(
        state,
        trust=round(trust, 4),
        level=max(state.level, _level_for(trust=trust, difficulty=difficulty)),
        emotions=emotions,
        agitation=round(agitation, 4),
        mood=_mood(trust=trust, agitation=agitation, difficulty=difficulty),
        topics_covered=topics,
        turn_count=state.turn_count + 1,
        concession=round(concession, 4),
        jailbreak_attempts=state.jailbreak_attempts + (1 if signals.jailbreak >= 0.5 else 0),
        history=[dict(h) for h in state.history],
    )
    new.history.append(_snapshot(new))
    return new
