"""Result types every assessment engine returns. Plain data, no ORM."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class AlignedExemplar:
    """An expert exemplar an assessment was aligned to (retrieved by similarity)."""

    exemplar_id: str  # stable id: the DB primary key as a string, or "<framework>:<index>" for pack dicts
    skill: str
    label: str
    utterance: str
    feedback: str
    rewrite: str = ""
    similarity: float = 0.0


@dataclass
class SkillAssessment:
    """One skill (or code family) of one utterance."""

    skill: str  # skill slug of the framework
    label: str  # strong/weak/absent, or the framework's code
    confidence: float = 0.0  # 0..1
    evidence: str = ""  # the words of the utterance the label rests on ("" if none)
    suggestion: str = ""  # what to do instead / next, specific to this utterance
    rewrite: str = ""  # a better way to say it ("" when it is already strong)
    exemplars: list[AlignedExemplar] = field(default_factory=list)


@dataclass
class UtteranceAssessment:
    framework: str  # framework slug
    kind: str  # skill-rubric | behaviour-coding | formulation | teaching-feedback
    backend: str  # e.g. "offline-embeddings", "llm:gpt-4o-mini"
    items: list[SkillAssessment] = field(default_factory=list)
    feedback: str = ""  # one short paragraph summarising the items for the trainee
    labels: dict = field(default_factory=dict)  # behaviour coding: {"behaviour":..,"reflection":..,"question":..,"input":..}

    def as_dict(self) -> dict:
        return asdict(self)
