"""Framework analysis of a recording's transcript, and the instructor's review of its items.

Teaching feedback is read on the trainer's turns (with the trainee turns that
follow, for the response); MI coding and skill rubrics on the turns of the
speaker whose role the recording names (rubric_role, the trainee by default).
When no speaker carries that role every speaker's turns are analysed, and
the result says so."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from feedback.models import Exemplar, Framework, Recording, RecordingItem, RecordingItemReview, RecordingSegment
from feedback.selectors.frameworks import framework_pack_dict, framework_skill_labels

CONTEXT_BEFORE = 6
RESPONSE_AFTER = 2
VERDICTS = ("agree", "partly", "disagree")


class RecordingReviewError(ValueError):
    pass


def _analysed_role(*, recording: Recording, kind: str) -> str:
    return "trainer" if kind == "teaching-feedback" else (recording.rubric_role or "trainee")


def _context_line(*, segment: RecordingSegment, analysed_role: str) -> dict:
    role = segment.speaker.role if segment.speaker_id and segment.speaker else ""
    # pack format: the person analysed is "trainee" in exemplar contexts, everyone else "partner"
    if analysed_role == "trainer":
        speaker = "trainee" if role == "trainee" else "trainer"
    else:
        speaker = "trainee" if role == analysed_role else "partner"
    return {"speaker": speaker, "text": segment.text}


def recording_analyse(*, recording: Recording) -> dict:
    """(Re)create the recording's analysis items from its current transcript and speakers."""
    from feedback.services.assessors import assessor_get

    RecordingItem.objects.filter(recording=recording).delete()
    slug = recording.framework_slug
    if not slug:
        return {"skipped": "no framework chosen"}
    framework = framework_pack_dict(slug=slug)
    if framework is None:
        return {"skipped": f"framework {slug!r} is not installed"}
    kind = str(framework.get("kind"))
    if kind == "teaching-feedback":
        from feedback.engines.registry import assessor_for

        assessor = assessor_for(framework=framework)
    else:
        assessor = assessor_get(framework=framework)
    if assessor is None:
        return {"skipped": f"framework {slug!r} ({kind}) cannot assess utterances"}
    segments = list(recording.segments.filter(removed=False).select_related("speaker").order_by("position"))
    role = _analysed_role(recording=recording, kind=kind)
    with_role = [s for s in segments if s.speaker_id and s.speaker.role == role]
    targets = with_role or segments
    items: list[RecordingItem] = []
    labels: list[dict] = []
    index = {s.pk: i for i, s in enumerate(segments)}
    for segment in targets:
        i = index[segment.pk]
        context = [_context_line(segment=s, analysed_role=role) for s in segments[max(0, i - CONTEXT_BEFORE) : i]]
        if kind == "teaching-feedback":
            after = [s for s in segments[i + 1 : i + 1 + RESPONSE_AFTER] if s.speaker_id != segment.speaker_id]
            context += [{**_context_line(segment=s, analysed_role=role), "speaker": "trainee", "after": True} for s in after[:1]]
        result = assessor.assess(utterance=segment.text, context=context)
        labels.append(dict(result.labels or {}))
        for item in result.items:
            items.append(RecordingItem(
                recording=recording, segment=segment, framework_slug=slug, skill=item.skill[:80], label=str(item.label)[:80],
                confidence=float(item.confidence or 0.0), evidence=item.evidence or "", suggestion=item.suggestion or "",
                context=[c for c in context if not c.get("after")],
            ))
    RecordingItem.objects.bulk_create(items)
    return {
        "framework": slug, "kind": kind, "role": role, "role_found": bool(with_role), "utterances": len(targets),
        "items": len(items), "labels": labels if kind == "behaviour-coding" else [],
    }


@transaction.atomic
def recording_item_review(*, item: RecordingItem, reviewer, verdict: str, corrected_label: str = "", corrected_text: str = "") -> RecordingItemReview:
    """Agree / partly / disagree with an item; a correction becomes an instructor-correction exemplar."""
    if verdict not in VERDICTS:
        raise RecordingReviewError(f"unknown verdict {verdict!r}")
    framework = Framework.objects.filter(slug=item.framework_slug).first()
    if corrected_label and framework is not None:
        allowed = framework_skill_labels(framework=framework).get(item.skill, [])
        if allowed and corrected_label not in allowed:
            raise RecordingReviewError(f"{corrected_label!r} is not a label of {item.skill}")
    if verdict == "agree":
        corrected_label = corrected_text = ""
    Exemplar.objects.filter(pk__in=item.reviews.exclude(exemplar=None).values("exemplar")).delete()
    review = RecordingItemReview.objects.create(
        item=item, reviewer=reviewer, verdict=verdict, corrected_label=corrected_label, corrected_text=corrected_text.strip()
    )
    if verdict != "agree" and framework is not None and (corrected_label or review.corrected_text):
        position = (framework.exemplars.aggregate(m=Max("position"))["m"] or 0) + 1
        review.exemplar = Exemplar.objects.create(
            framework=framework, skill=item.skill, label=corrected_label or item.label,
            context=[{"speaker": c.get("speaker", "partner"), "text": str(c.get("text", ""))[:5000]} for c in item.context][-6:],
            utterance=item.segment.text[:5000], feedback=review.corrected_text or item.suggestion,
            source=Exemplar.Source.CORRECTION, position=position, created_by=reviewer,
        )
        review.save(update_fields=["exemplar"])
    return review
