"""Assessing trainee turns and storing the result once per (turn, framework)."""

from __future__ import annotations

import logging
import time

from django.db import IntegrityError, transaction
from django.utils import timezone

from feedback.engines.types import UtteranceAssessment
from feedback.models import Assessment, AssessmentItem, Framework
from feedback.services.assessors import assessor_get, framework_current
from simulations.models import Turn

logger = logging.getLogger(__name__)
CONTEXT_TURNS = 6  # how many earlier turns the engines see (they use the tail)
# How the engines name the trainee's partner, by persona kind.
PERSONA_SPEAKER = {"cbt-patient": "patient", "interpersonal-partner": "partner", "mi-client": "client"}


def turn_context(*, turn: Turn, limit: int = CONTEXT_TURNS) -> list[dict]:
    """The turns before this one, oldest first, with the speakers the engines expect."""
    persona_kind = (turn.session.scenario_version.persona_data or {}).get("kind", "")
    persona = PERSONA_SPEAKER.get(persona_kind, "partner")
    earlier = Turn.objects.filter(session_id=turn.session_id, index__lt=turn.index).order_by("-index")[:limit]
    return [
        {"speaker": "trainee" if t.speaker == Turn.Speaker.TRAINEE else persona, "text": t.text}
        for t in reversed(list(earlier))
    ]


def assessment_store(*, turn: Turn, result: UtteranceAssessment, framework_slug: str, engine_ms: int | None = None) -> tuple[Assessment, bool]:
    """Store the engine's result; (assessment, created). A concurrent run that
    stored it first wins and its row is returned (unique (turn, framework))."""
    try:
        with transaction.atomic():
            assessment = Assessment.objects.create(
                turn=turn,
                framework=Framework.objects.filter(slug=framework_slug).first(),
                framework_slug=framework_slug,
                kind=result.kind,
                backend=result.backend[:80],
                labels=result.labels or {},
                feedback=result.feedback,
                elapsed_ms=max(0, int((timezone.now() - turn.created_at).total_seconds() * 1000)),
                engine_ms=engine_ms,
            )
            AssessmentItem.objects.bulk_create([
                AssessmentItem(
                    assessment=assessment, position=position, skill=item.skill, label=item.label,
                    confidence=float(item.confidence or 0), evidence=item.evidence, suggestion=item.suggestion,
                    rewrite=item.rewrite,
                    exemplars=[
                        {"id": e.exemplar_id, "skill": e.skill, "label": e.label, "utterance": e.utterance,
                         "feedback": e.feedback, "rewrite": e.rewrite, "similarity": e.similarity}
                        for e in item.exemplars
                    ],
                )
                for position, item in enumerate(_unique_skills(result))
            ])
    except IntegrityError:
        return Assessment.objects.get(turn=turn, framework_slug=framework_slug), False
    return assessment, True


def _unique_skills(result: UtteranceAssessment):
    seen = set()
    for item in result.items:
        if item.skill not in seen:
            seen.add(item.skill)
            yield item


def turn_assess(*, turn_id: int) -> list[tuple[Assessment, bool]]:
    """Assess a trainee turn against every framework of its session's scenario
    version; frameworks already assessed for this turn are not redone."""
    turn = Turn.objects.select_related("session__scenario_version").filter(pk=turn_id).first()
    if turn is None or turn.speaker != Turn.Speaker.TRAINEE or not turn.text.strip():
        return []
    slugs = list(turn.session.scenario_version.framework_slugs or [])
    done = set(Assessment.objects.filter(turn=turn).values_list("framework_slug", flat=True))
    results: list[tuple[Assessment, bool]] = []
    context = None
    for slug in slugs:
        if slug in done:
            results.append((Assessment.objects.get(turn=turn, framework_slug=slug), False))
            continue
        framework = framework_current(slug=slug)
        assessor = assessor_get(framework=framework) if framework else None
        if assessor is None:
            continue
        context = turn_context(turn=turn) if context is None else context
        started = time.perf_counter()
        result = assessor.assess(utterance=turn.text, context=context)
        engine_ms = round(1000 * (time.perf_counter() - started))
        logger.info("assessed turn %s with %s in %d ms", turn.pk, slug, engine_ms)
        results.append(assessment_store(turn=turn, result=result, framework_slug=slug, engine_ms=engine_ms))
    return results


def session_turns_unassessed(*, session_id: int) -> list[int]:
    """Trainee turns of the session missing an assessment for one of its frameworks."""
    turns = Turn.objects.filter(session_id=session_id, speaker=Turn.Speaker.TRAINEE).select_related("session__scenario_version")
    missing = []
    for turn in turns:
        wanted = set(turn.session.scenario_version.framework_slugs or []) & set(
            Framework.objects.filter(kind__in=("skill-rubric", "behaviour-coding", "formulation")).values_list("slug", flat=True)
        )
        have = set(turn.assessments.values_list("framework_slug", flat=True))
        if wanted - have:
            missing.append(turn.pk)
    return missing
