"""Persona facts gated by disclosure level: secrecy by construction.

Every piece of a persona's profile that could be said in the conversation is
turned into a ``Fact`` with the disclosure level at which it may be released
(docs/scenario-packs.md). Engines and prompts only ever receive
``persona_visible_facts`` for the session's level; the rest exist only in
``persona_hidden_facts``, which feeds the leak check. Nothing else in the
persona engines reads the raw cognitive model.

Mapping (level names from ``DISCLOSURE_LEVELS``):

- every kind: ``summary`` (already shown to the trainee in the brief) at surface;
  ``facts[*]`` at their own level.
- cbt-patient: ``history``, each situation's ``description``, ``emotions`` and
  ``behaviour`` at situation; ``automatic_thoughts`` at automatic_thoughts;
  ``intermediate_beliefs``, ``intermediate_beliefs_during_depression`` and
  ``coping_strategies`` at intermediate_beliefs; each core belief at core_beliefs.
- interpersonal-partner: ``relationship``, ``wants`` and each objection at
  surface. ``calmed_by`` / ``inflamed_by`` are never facts: they are reaction
  rules, see ``simulations.personas.triggers`` (only the items the trainee's
  latest turn actually hits reach a prompt, so the persona can never recite
  the list of what would work on it).
- mi-client: ``target_behaviour`` and each reason against change (sustain
  talk is what an ambivalent client volunteers) at surface; each reason for
  change at situation (change talk has to be evoked). ``change_talk_tendency``
  is a number for the state rules, not a fact.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from simulations.cognitive_model import DISCLOSURE_LEVELS, DISCLOSURE_RANK

SURFACE, SITUATION, AUTOMATIC_THOUGHTS, INTERMEDIATE_BELIEFS, CORE_BELIEFS = range(len(DISCLOSURE_LEVELS))


@dataclass(frozen=True)
class Fact:
    level: int  # index into DISCLOSURE_LEVELS
    label: str  # how a prompt introduces it ("What went through your mind")
    text: str  # the content itself, as authored
    source: str  # where it came from in the persona, for instructors and leak reports

    @property
    def level_name(self) -> str:
        return DISCLOSURE_LEVELS[self.level]

    def to_dict(self) -> dict:
        return {**asdict(self), "level_name": self.level_name}


def _text(value) -> str:
    return str(value).strip() if value is not None else ""


def _level_index(value, default: int = SURFACE) -> int:
    if isinstance(value, int):
        return max(0, min(value, len(DISCLOSURE_LEVELS) - 1))
    return DISCLOSURE_RANK.get(str(value or ""), default)


def _cbt_facts(model: dict) -> list[Fact]:
    facts: list[Fact] = []
    if _text(model.get("history")):
        facts.append(Fact(SITUATION, "Your history", _text(model["history"]), "cognitive_model.history"))
    for i, situation in enumerate(model.get("situations") or []):
        where = f"cognitive_model.situations[{i}]"
        if _text(situation.get("description")):
            facts.append(Fact(SITUATION, "A recent situation", _text(situation["description"]), f"{where}.description"))
        emotions = [e for e in situation.get("emotions") or [] if _text(e)]
        if emotions:
            facts.append(Fact(SITUATION, "How you felt then", ", ".join(emotions), f"{where}.emotions"))
        if _text(situation.get("behaviour")):
            facts.append(Fact(SITUATION, "What you did", _text(situation["behaviour"]), f"{where}.behaviour"))
        if _text(situation.get("automatic_thoughts")):
            facts.append(
                Fact(
                    AUTOMATIC_THOUGHTS,
                    "What went through your mind",
                    _text(situation["automatic_thoughts"]),
                    f"{where}.automatic_thoughts",
                )
            )
    for key, label in (
        ("intermediate_beliefs", "A rule you live by"),
        ("intermediate_beliefs_during_depression", "A rule you live by when you are low"),
        ("coping_strategies", "How you cope"),
    ):
        if _text(model.get(key)):
            facts.append(Fact(INTERMEDIATE_BELIEFS, label, _text(model[key]), f"cognitive_model.{key}"))
    for i, belief in enumerate(model.get("core_beliefs") or []):
        if _text(belief):
            facts.append(
                Fact(CORE_BELIEFS, "What you believe deep down", _text(belief), f"cognitive_model.core_beliefs[{i}]")
            )
    return facts


def _partner_facts(partner: dict) -> list[Fact]:
    facts: list[Fact] = []
    if _text(partner.get("relationship")):
        facts.append(Fact(SURFACE, "Who you are to them", _text(partner["relationship"]), "partner.relationship"))
    if _text(partner.get("wants")):
        facts.append(Fact(SURFACE, "What you want", _text(partner["wants"]), "partner.wants"))
    for i, objection in enumerate(partner.get("objections") or []):
        if _text(objection):
            facts.append(Fact(SURFACE, "An objection you may raise", _text(objection), f"partner.objections[{i}]"))
    return facts


def _client_facts(client: dict) -> list[Fact]:
    facts: list[Fact] = []
    if _text(client.get("target_behaviour")):
        facts.append(
            Fact(SURFACE, "The behaviour in question", _text(client["target_behaviour"]), "client.target_behaviour")
        )
    for i, reason in enumerate(client.get("reasons_against_change") or []):
        if _text(reason):
            facts.append(
                Fact(SURFACE, "Why you'd rather not change", _text(reason), f"client.reasons_against_change[{i}]")
            )
    for i, reason in enumerate(client.get("reasons_for_change") or []):
        if _text(reason):
            facts.append(
                Fact(
                    SITUATION,
                    "A reason you sometimes think about changing",
                    _text(reason),
                    f"client.reasons_for_change[{i}]",
                )
            )
    return facts


def persona_facts_all(*, persona: dict) -> list[Fact]:
    """Every fact of the persona, each with its release level (stored order)."""
    facts: list[Fact] = []
    if _text(persona.get("summary")):
        facts.append(Fact(SURFACE, "About you", _text(persona["summary"]), "summary"))
    kind = persona.get("kind")
    if kind == "cbt-patient":
        facts.extend(_cbt_facts(persona.get("cognitive_model") or {}))
    elif kind == "interpersonal-partner":
        facts.extend(_partner_facts(persona.get("partner") or {}))
    elif kind == "mi-client":
        facts.extend(_client_facts(persona.get("client") or {}))
    for i, fact in enumerate(persona.get("facts") or []):
        if _text(fact.get("text")):
            facts.append(
                Fact(_level_index(fact.get("level")), "Something about you", _text(fact["text"]), f"facts[{i}]")
            )
    return facts


def persona_visible_facts(*, persona: dict, level: int) -> list[Fact]:
    """Facts released at the session's disclosure ``level`` (index) or below."""
    return [f for f in persona_facts_all(persona=persona) if f.level <= level]


def persona_hidden_facts(*, persona: dict, level: int) -> list[Fact]:
    """Facts above ``level``: never given to an engine; used to check replies for leaks."""
    return [f for f in persona_facts_all(persona=persona) if f.level > level]
