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
from feedback.engines.rubric_feedback import coaching_summary, dear_man_rewrite, generic_rewrite, suggestion_text
from feedback.engines.skill_evidence import (
    COLLAPSE,
    DEAR_MAN_SKILLS,
    OBJECTION,
    Evidence,
    dear_man_evidence,
    earlier_request,
    line_moment,
    partner_line,
    partner_moment,
    skills_used,
    trainee_earlier,
)
from feedback.engines.text_spans import clause_spans
from feedback.engines.types import SkillAssessment, UtteranceAssessment

BACKEND = "offline-embeddings"
_CUE_BONUS = 0.15  # a clause carrying the deciding cue beats a slightly more similar one

_classifiers = FingerprintCache(maxsize=32)


def rubric_classifier_for(*, framework: dict) -> RubricClassifier:
    return _classifiers.get_or_build(
        framework=framework, build=lambda: RubricClassifier(index=exemplar_index_for(framework=framework))
    )


def _clause_with(*, cue: str, spans: list[str]) -> str:
    """The narrowest clause (of 3+ words) holding ``cue``, else the cue itself: always the trainee's words."""
    holding = [s for s in spans if cue and cue in s]
    wordy = [s for s in holding if len(s.split()) >= 3]
    if wordy:
        return min(wordy, key=len)
    return min(holding, key=len) if holding else ""


def cue_span(*, prediction: SkillPrediction, spans: list[str], labels: list[str]) -> str:
    """Evidence for a label decided by specific evidence: the clause holding the deciding words."""
    if prediction.label == labels[-1]:
        return ""
    cues = prediction.negative_cues if prediction.label != labels[0] else []
    cues = [c for c in cues if any(ch.isalpha() for ch in c)] + list(prediction.positive_cues)
    for cue in cues:
        span = _clause_with(cue=cue, spans=spans)
        if span:
            return span
    return ""


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
    skill_evidence: Evidence | None = None,
) -> SkillAssessment:
    index = classifier.index
    skill_def = index.skills[skill]
    labels = index.labels_by_skill[skill]
    prediction = classifier.predict(skill=skill, text=utterance, vector=query.utterance, sims=sims, evidence=skill_evidence)
    if skill_evidence is not None and prediction.near_duplicate is None:
        evidence = cue_span(prediction=prediction, spans=query.spans, labels=labels)
    else:
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
        absent_reason=skill_evidence.absent_reason if skill_evidence is not None and prediction.near_duplicate is None else "",
    )
    if skill in DEAR_MAN_CUES and labels[:1] == ["strong"]:
        strong = [e for e in nearest if e.label == "strong"] + ([pair[0]] if pair else [])
        rewrite = dear_man_rewrite(
            skill=skill, label=prediction.label, utterance=utterance, strong_exemplars=strong,
            earlier_request=earlier_request(context=context) if skill in ("mindful", "appear-confident", "assert", "negotiate") else "",
            collapsed=bool(COLLAPSE.search(utterance)),
        )
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


def dear_man_summary(*, framework: dict, items: list[SkillAssessment], evidence: dict, context: list[dict]) -> tuple[str, list[str]]:
    """The per-turn feedback: one or two skills that matter now, chosen with the conversation so far."""
    names = {s["slug"]: s.get("name") or s["slug"] for s in framework.get("skills") or []}
    earlier = trainee_earlier(context=context)[-6:]
    done_before = set().union(*(skills_used(text=" ".join(text.split())) for text in earlier)) if earlier else set()
    pushbacks = sum(
        1 for turn in context or []
        if str(turn.get("speaker", "")).lower() != "trainee" and not turn.get("after")
        and line_moment(line=str(turn.get("text", "")).strip()) == "pushback"
    )
    objection = bool(OBJECTION.search(partner_line(context=context)))
    return coaching_summary(
        names=names, items=items, evidence=evidence, moment=partner_moment(context=context),
        done_before=done_before, pushbacks=pushbacks, objection=objection,
    )


class OfflineSkillRubricAssessor:
    kind = "skill-rubric"
    backend = BACKEND

    def __init__(self, *, framework: dict) -> None:
        self.framework = framework
        self.classifier = rubric_classifier_for(framework=framework)

    def assess(self, *, utterance: str, context: list[dict] | None = None) -> UtteranceAssessment:
        return self.assess_with_query(utterance=utterance, context=context)[0]

    def assess_with_query(
        self, *, utterance: str, context: list[dict] | None = None
    ) -> tuple[UtteranceAssessment, QueryVectors]:
        """The assessment and the query vectors it was made with (FormulationQuestionAssessor asks the
        index again with them: embedding the utterance a second time was ~6 ms of a CBT turn's ~25)."""
        context = context or []
        index = self.classifier.index
        # One embedding batch per utterance: the utterance, its context tail
        # and its clauses; every skill reuses it.
        query = index.query_vectors(utterance=utterance, context=context, spans=clause_spans(text=utterance))
        sims = index.utterance_vectors @ query.utterance
        # Specific evidence for the DEAR MAN skills (presence first, then quality), read with the context.
        evidence = dear_man_evidence(text=utterance, context=context) if set(index.skills) & set(DEAR_MAN_SKILLS) else {}
        items = [
            skill_item(
                framework=self.framework,
                classifier=self.classifier,
                skill=skill,
                utterance=utterance,
                context=context,
                query=query,
                sims=sims,
                skill_evidence=evidence.get(skill),
            )
            for skill in index.skills
        ]
        feedback, focus = summary_feedback(framework=self.framework, items=items), []
        if evidence and {i.skill for i in items} >= set(DEAR_MAN_SKILLS):
            feedback, focus = dear_man_summary(framework=self.framework, items=items, evidence=evidence, context=context)
        result = UtteranceAssessment(
            framework=str(self.framework.get("slug", "")),
            kind=self.kind,
            backend=self.backend,
            items=items,
            feedback=feedback,
            labels={"focus": focus} if focus else {},
        )
        return result, query
