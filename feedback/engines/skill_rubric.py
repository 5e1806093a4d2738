"""Offline skill-rubric assessor (DEAR MAN and custom rubrics).

Per utterance: embed it and its clauses in one batch, then for every skill
classify (rubric_classifier), pick the clause the label rests on, retrieve
the nearest and contrastive exemplars, and write a suggestion and rewrite
(rubric_feedback). Everything built from the framework is cached by its
content hash, so new expert exemplars retrain it.
"""

from __future__ import annotations

import numpy as np

from feedback.engines.fingerprint import FingerprintCache
from feedback.engines.lexical_cues import DEAR_MAN_CUES, cue_matches
from feedback.engines.retrieval import ExemplarIndex, QueryVectors, exemplar_index_for
from feedback.engines.rubric_classifier import RubricClassifier, SkillPrediction
from feedback.engines.rubric_feedback import dear_man_rewrite, generic_rewrite, suggestion_text
from feedback.engines.text_spans import clause_spans
from feedback.engines.types import SkillAssessment, UtteranceAssessment

BACKEND = "offline-embeddings"
_CUE_BONUS = 0.15  # a clause carrying the deciding cue beats a slightly more similar one

_classifiers = FingerprintCache(maxsize=32)


def rubric_classifier_for(*, framework: dict) -> RubricClassifier:
    return _classifiers.get_or_build(
        framework=framework, build=lambda: RubricClassifier(index=exemplar_index_for(framework=framework))
    )


def evidence_span(
    *, index: ExemplarIndex, skill: str, prediction: SkillPrediction, query: QueryVectors, labels: list[str]
) -> str:
    """The clause of the utterance most like the skill's best exemplars.

    For a weak label the clause holding an undermining cue (a hedge, a
    judgement) is preferred; an absent label rests on nothing, so "".
    """
    if prediction.label == labels[-1] and len(labels) > 2 and not prediction.negative_cues:
        return ""
    best_positions = index.positions(skill=skill, labels={labels[0]})
    if best_positions.size:
        sims = query.span_vectors @ index.utterance_vectors[best_positions].T
        top = np.sort(sims, axis=1)[:, -2:]
        scores = top.mean(axis=1)
    else:
        scores = np.zeros(len(query.spans))
    prefer_negative = prediction.label != labels[0] and bool(prediction.negative_cues)
    for i, span in enumerate(query.spans):
        positive, negative = cue_matches(text=span, skill=skill)
        if (negative if prefer_negative else positive):
            scores[i] += _CUE_BONUS
        if i == 0 and len(query.spans) > 1:
            scores[i] -= 0.02  # prefer the narrower clause when it scores as well as the whole utterance
    return query.spans[int(np.argmax(scores))]


def skill_item(
    *,
    framework: dict,
    classifier: RubricClassifier,
    skill: str,
    utterance: str,
    context: list[dict],
    query: QueryVectors,
    sims: np.ndarray,
) -> SkillAssessment:
    index = classifier.index
    skill_def = index.skills[skill]
    labels = index.labels_by_skill[skill]
    prediction = classifier.predict(skill=skill, text=utterance, vector=query.utterance, sims=sims)
    evidence = evidence_span(index=index, skill=skill, prediction=prediction, query=query, labels=labels)
    nearest = index.nearest(utterance=utterance, context=context, skill=skill, k=3, query=query)
    pairs = index.contrastive_pairs(utterance=utterance, context=context, skill=skill, k=1, query=query)
    pair = pairs[0] if pairs else None
    suggestion = suggestion_text(
        skill=skill_def,
        label=prediction.label,
        labels=labels,
        utterance=utterance,
        evidence=evidence,
        positive_cues=prediction.positive_cues,
        negative_cues=prediction.negative_cues,
        pair=pair if prediction.label != labels[0] else None,
    )
    if skill in DEAR_MAN_CUES and labels[:1] == ["strong"]:
        strong = [e for e in nearest if e.label == "strong"] + ([pair[0]] if pair else [])
        rewrite = dear_man_rewrite(skill=skill, label=prediction.label, utterance=utterance, strong_exemplars=strong)
    else:
        weak = [e for e in nearest if e.label != labels[0]]
        rewrite = generic_rewrite(label=prediction.label if prediction.label != labels[0] else "strong", nearest_weak=weak[0] if weak else None)
    aligned = list(nearest)
    if pair:
        aligned += [e for e in pair if e.exemplar_id not in {a.exemplar_id for a in aligned}]
    return SkillAssessment(
        skill=skill,
        label=prediction.label,
        confidence=round(prediction.confidence, 3),
        evidence=evidence,
        suggestion=suggestion,
        rewrite=rewrite if rewrite != utterance.strip() else "",
        exemplars=aligned,
    )


def summary_feedback(*, framework: dict, items: list[SkillAssessment]) -> str:
    skills = {s["slug"]: s for s in framework.get("skills") or []}
    name = lambda slug: skills.get(slug, {}).get("name") or slug  # noqa: E731
    labels = lambda slug: list(skills.get(slug, {}).get("labels") or framework.get("labels") or ["strong"])  # noqa: E731
    strong = [name(i.skill) for i in items if i.label == labels(i.skill)[0]]
    to_work = [i for i in items if i.label != labels(i.skill)[0]]
    parts = []
    if strong:
        parts.append("Good " + ", ".join(strong) + ".")
    if to_work:
        focus = max(to_work, key=lambda i: i.confidence)
        parts.append(f"Next, {name(focus.skill)}: {focus.suggestion}")
    return " ".join(parts)


class OfflineSkillRubricAssessor:
    kind = "skill-rubric"
    backend = BACKEND

    def __init__(self, *, framework: dict) -> None:
        self.framework = framework
        self.classifier = rubric_classifier_for(framework=framework)

    def assess(self, *, utterance: str, context: list[dict] | None = None) -> UtteranceAssessment:
        context = context or []
        index = self.classifier.index
        # One embedding batch per utterance: the utterance, its context tail
        # and its clauses; every skill reuses it.
        query = index.query_vectors(utterance=utterance, context=context, spans=clause_spans(text=utterance))
        sims = index.utterance_vectors @ query.utterance
        items = [
            skill_item(
                framework=self.framework,
                classifier=self.classifier,
                skill=skill,
                utterance=utterance,
                context=context,
                query=query,
                sims=sims,
            )
            for skill in index.skills
        ]
        return UtteranceAssessment(
            framework=str(self.framework.get("slug", "")),
            kind=self.kind,
            backend=self.backend,
            items=items,
            feedback=summary_feedback(framework=self.framework, items=items),
        )
