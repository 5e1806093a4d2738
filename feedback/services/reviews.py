"""Instructor reviews of feedback items; corrections become expert exemplars."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from feedback.models import AssessmentItem, Exemplar, Framework, Review
from feedback.selectors.frameworks import framework_skill_labels
from feedback.services.assessments import turn_context

MAX_CONTEXT_LINES = 6  # packs allow 20; the engines only use the tail


class ReviewError(ValueError):
    pass


def _pack_context(*, item: AssessmentItem) -> list[dict]:
    # Exemplar context speakers are "trainee" | "partner" (pack format).
    return [
        {"speaker": "trainee" if line["speaker"] == "trainee" else "partner", "text": line["text"][:5000]}
        for line in turn_context(turn=item.assessment.turn, limit=MAX_CONTEXT_LINES)
    ]


@transaction.atomic
def review_record(
    *, item: AssessmentItem, reviewer, verdict: str, corrected_label: str = "", corrected_text: str = "", corrected_rewrite: str = ""
) -> Review:
    """Record the instructor's verdict. A partly/disagree verdict with a label
    (or a new text) becomes an instructor-correction exemplar of the framework,
    so the next assessment of a similar utterance is aligned to it."""
    if verdict not in Review.Verdict.values:
        raise ReviewError(f"unknown verdict {verdict!r}")
    framework = Framework.objects.filter(slug=item.assessment.framework_slug).first()
    if corrected_label and framework is not None:
        allowed = framework_skill_labels(framework=framework).get(item.skill, [])
        if corrected_label not in allowed:
            raise ReviewError(f"{corrected_label!r} is not a label of {item.skill}")
    if verdict == Review.Verdict.AGREE:
        corrected_label = corrected_text = corrected_rewrite = ""
    # The newest review wins: an earlier correction of this item stops being an exemplar.
    Exemplar.objects.filter(pk__in=item.reviews.exclude(exemplar=None).values("exemplar")).delete()
    review = Review.objects.create(
        item=item, reviewer=reviewer, verdict=verdict, corrected_label=corrected_label,
        corrected_text=corrected_text.strip(), corrected_rewrite=corrected_rewrite.strip(),
    )
    if verdict != Review.Verdict.AGREE and framework is not None and (corrected_label or review.corrected_text):
        position = (framework.exemplars.aggregate(m=Max("position"))["m"] or 0) + 1
        review.exemplar = Exemplar.objects.create(
            framework=framework,
            skill=item.skill,
            label=corrected_label or item.label,
            context=_pack_context(item=item),
            utterance=item.assessment.turn.text[:5000],
            feedback=review.corrected_text or item.suggestion,
            rewrite=review.corrected_rewrite,
            source=Exemplar.Source.CORRECTION,
            position=position,
            created_by=reviewer,
        )
        review.save(update_fields=["exemplar"])
    return review
