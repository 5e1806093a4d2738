"""Which assessor answers for a framework, by kind and settings.

``assessor_for(framework=...)`` returns an object with
``.assess(*, utterance, context) -> UtteranceAssessment`` and ``.backend``.
Assessors are cached by framework slug + content hash (an edited framework
gets a fresh one) and by the LLM configuration (changing settings switches
backend without a restart).
"""

from __future__ import annotations

from typing import Protocol

from feedback.engines import assessment_status  # noqa: F401  (registers the "assessment" engine status)
from feedback.engines.fingerprint import FingerprintCache
from feedback.engines.llm_settings import assessment_llm_config
from feedback.engines.types import UtteranceAssessment

KINDS = ("skill-rubric", "behaviour-coding", "formulation", "teaching-feedback")


class Assessor(Protocol):
    backend: str

    def assess(self, *, utterance: str, context: list[dict]) -> UtteranceAssessment: ...


class AssessorUnavailable(RuntimeError):
    """The framework's kind has no usable assessor (e.g. its module is not installed)."""


class FormulationQuestionAssessor:
    """Live feedback in a CBT session: which worksheet field a therapist's
    question elicits, rated per field against the framework's exemplars
    (questions experts rated complete / partial / missing for each field).
    Scoring the worksheet itself is formulation.formulation_score."""

    kind = "formulation"

    def __init__(self, *, framework: dict) -> None:
        from feedback.engines.skill_rubric import OfflineSkillRubricAssessor

        self.framework = framework
        self.rubric = OfflineSkillRubricAssessor(framework=framework)
        self.backend = self.rubric.backend

    def assess(self, *, utterance: str, context: list[dict] | None = None) -> UtteranceAssessment:
        result, query = self.rubric.assess_with_query(utterance=utterance, context=context or [])
        result.kind = self.kind
        labels = list(self.framework.get("labels") or ["complete", "partial", "missing"])
        # With a handful of exemplars per field, "which field is this question
        # about" is answered best by the nearest expert-rated question overall:
        # its field is the one elicited, its label how well.
        index = self.rubric.classifier.index
        # The rubric's query (the utterance's vector from the same pass as its clauses, the context tail):
        # the same vectors every skill's nearest exemplars above were found with.
        nearest = index.nearest(utterance=utterance, context=context or [], k=1, query=query)
        names = {s["slug"]: s.get("name") or s["slug"] for s in self.framework.get("skills") or []}
        if nearest and nearest[0].label != labels[-1]:
            field, label = nearest[0].skill, nearest[0].label
            for item in result.items:
                if item.skill == field:
                    item.label = label
                elif item.label != labels[-1]:
                    item.label, item.evidence = labels[-1], ""
            result.feedback = f"This question {'elicits' if label == labels[0] else 'partly reaches'} the patient's {names.get(field, field).lower()}."
        else:
            result.feedback = "This question does not aim at any worksheet field yet."
        return result


def _behaviour_coder(*, framework: dict):
    from feedback.engines.behaviour_coding import BehaviourCoder  # here: its model stack loads only when used

    return BehaviourCoder(framework=framework)


def assessor_build(*, framework: dict) -> Assessor:
    kind = framework.get("kind")
    if kind == "skill-rubric":
        config = assessment_llm_config()
        if config is not None:
            from feedback.engines.llm_rubric import LlmSkillRubricAssessor

            return LlmSkillRubricAssessor(framework=framework, config=config)
        from feedback.engines.skill_rubric import OfflineSkillRubricAssessor

        return OfflineSkillRubricAssessor(framework=framework)
    if kind == "behaviour-coding":
        return _behaviour_coder(framework=framework)
    if kind == "formulation":
        return FormulationQuestionAssessor(framework=framework)
    if kind == "teaching-feedback":
        from feedback.engines.teaching import TeachingFeedbackAssessor

        return TeachingFeedbackAssessor(framework=framework)
    raise AssessorUnavailable(f"framework {framework.get('slug')!r} has unknown kind {kind!r}; expected one of {KINDS}")


_assessors = FingerprintCache(maxsize=64)


def assessor_for(*, framework: dict) -> Assessor:
    config = assessment_llm_config()
    # The LLM configuration is part of the key: toggling it takes effect at once.
    llm = (config.base_url, config.model, config.timeout_s, config.retries) if config else None
    keyed = {**framework, "slug": f"{framework.get('slug', '')}|{llm}"}
    return _assessors.get_or_build(framework=keyed, build=lambda: assessor_build(framework=framework))
