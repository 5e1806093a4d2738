"""Assessing trainee turns and storing the result once per (turn, framework)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from feedback.engines.types import UtteranceAssessment
from feedback.models import Assessment, AssessmentItem, Framework
from feedback.services.assessors import assessor_get, framework_current, framework_current_pk
from simulations.models import Turn

logger = logging.getLogger(__name__)
CONTEXT_TURNS = 6  # how many earlier turns the engines see (they use the tail)
# How the engines name the trainee's partner, by persona kind.
PERSONA_SPEAKER = {"cbt-patient": "patient", "interpersonal-partner": "partner", "mi-client": "client"}


def turn_context(*, turn: Turn, limit: int = CONTEXT_TURNS) -> list[dict]:
    """The turns before this one, oldest first, with the speakers the engines expect."""
    if hasattr(turn, "persona_kind"):  # read with the turn by _turns_read (None: no kind)
        persona_kind = turn.persona_kind or ""
    else:
        persona_kind = (turn.session.scenario_version.persona_data or {}).get("kind", "")
    persona = PERSONA_SPEAKER.get(persona_kind, "partner")
    earlier = (
        Turn.objects.filter(session_id=turn.session_id, index__lt=turn.index)
        .order_by("-index")
        .values_list("speaker", "text")[:limit]
    )
    return [
        {"speaker": "trainee" if speaker == Turn.Speaker.TRAINEE else persona, "text": text}
        for speaker, text in reversed(list(earlier))
    ]


def _turns_read(*, turn_ids: list[int]) -> dict[int, Turn]:
    """The turns with what assessing them needs: their scenario version's frameworks and persona kind.
    Not the version's pack data (~40 KB of JSON) nor the session's persona state, which were read and
    decoded every turn for one key (0.73 → 0.60 ms on SQLite)."""
    return {
        turn.pk: turn
        for turn in Turn.objects.select_related("session__scenario_version")
        .only("session__scenario_version__framework_slugs", "session_id", "index", "speaker", "text", "created_at")
        .annotate(persona_kind=KeyTextTransform("kind", "session__scenario_version__persona_data"))
        .filter(pk__in=turn_ids)
    }


def assessment_store(
    *,
    turn: Turn,
    result: UtteranceAssessment,
    framework_slug: str,
    engine_ms: int | None = None,
    framework_id: int | None = None,
) -> tuple[Assessment, bool]:
    """Store the engine's result; (assessment, created). A concurrent run that
    stored it first wins and its row is returned (unique (turn, framework)).

    A created assessment carries the items it was stored with as ``items_stored`` (a list, in
    position order): the live push renders them without reading them back
    (feedback.services.live). ``framework_id``: the framework's pk when the caller knows it."""
    if framework_id is None:
        framework_id = Framework.objects.filter(slug=framework_slug).values_list("pk", flat=True).first()
    try:
        with transaction.atomic():
            assessment = Assessment.objects.create(
                turn=turn,
                framework_id=framework_id,
                framework_slug=framework_slug,
                kind=result.kind,
                backend=result.backend[:80],
                labels=result.labels or {},
                feedback=result.feedback,
                elapsed_ms=max(0, int((timezone.now() - turn.created_at).total_seconds() * 1000)),
                engine_ms=engine_ms,
            )
            items = AssessmentItem.objects.bulk_create(
                [
                    AssessmentItem(
                        assessment=assessment,
                        position=position,
                        skill=item.skill,
                        label=item.label,
                        confidence=float(item.confidence or 0),
                        evidence=item.evidence,
                        suggestion=item.suggestion,
                        rewrite=item.rewrite,
                        exemplars=[
                            {
                                "id": e.exemplar_id,
                                "skill": e.skill,
                                "label": e.label,
                                "utterance": e.utterance,
                                "feedback": e.feedback,
                                "rewrite": e.rewrite,
                                "similarity": e.similarity,
                            }
                            for e in item.exemplars
                        ],
                    )
                    for position, item in enumerate(_unique_skills(result))
                ]
            )
    except IntegrityError:
        return Assessment.objects.get(turn=turn, framework_slug=framework_slug), False
    assessment.items_stored = items
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
    return turns_assess(turn_ids=[turn_id]).get(turn_id, [])


def turns_assess(
    *, turn_ids: list[int], each: Callable[[int, list[tuple[Assessment, bool]]], object] | None = None
) -> dict[int, list[tuple[Assessment, bool]]]:
    """``turn_assess`` for several turns at once: {turn id: its results} (a turn that is not an assessable
    trainee turn: no key). The same results as one turn at a time; what is shared is the work around
    them: one read of the turns and of their stored assessments, one framework check per framework, and
    an assessor that codes many utterances in one model pass (``assess_many``: the MI coder's BERT,
    16 → ~9 ms a turn in batches of 4-8 on this machine) gets them all. Used by the live worker when it
    finds a backlog (feedback.services.live). ``each(turn_id, results)``: called as each turn's results are
    stored (the live push), before the next turn's."""
    read = _turns_read(turn_ids=turn_ids)
    turns = [turn for pk in dict.fromkeys(turn_ids) if (turn := read.get(pk)) is not None]
    turns = [turn for turn in turns if turn.speaker == Turn.Speaker.TRAINEE and turn.text.strip()]
    if not turns:
        return {}
    done: dict[int, set[str]] = {}
    for pk, slug in Assessment.objects.filter(turn__in=turns).order_by().values_list("turn_id", "framework_slug"):
        done.setdefault(pk, set()).add(slug)
    wanted: dict[int, list[str]] = {turn.pk: list(turn.session.scenario_version.framework_slugs or []) for turn in turns}
    assessors: dict[str, object | None] = {}
    for slug in dict.fromkeys(slug for slugs in wanted.values() for slug in slugs):
        if any(slug not in done.get(turn.pk, ()) for turn in turns if slug in wanted[turn.pk]):
            framework = framework_current(slug=slug)
            assessors[slug] = assessor_get(framework=framework) if framework else None
    contexts: dict[int, list[dict]] = {}

    def context_of(turn: Turn) -> list[dict]:
        if turn.pk not in contexts:
            contexts[turn.pk] = turn_context(turn=turn)
        return contexts[turn.pk]

    # An assessor that codes many utterances in one model pass gets all its turns first.
    engine: dict[tuple[int, str], tuple[UtteranceAssessment, int]] = {}
    for slug, assessor in assessors.items():
        todo = [t for t in turns if slug in wanted[t.pk] and slug not in done.get(t.pk, ())]
        if assessor is None or len(todo) < 2 or not hasattr(assessor, "assess_many"):
            continue
        started = time.perf_counter()
        outcomes = assessor.assess_many(items=[(turn.text, context_of(turn)) for turn in todo])
        engine_ms = round(1000 * (time.perf_counter() - started) / len(todo))  # each turn's share
        for turn, result in zip(todo, outcomes, strict=True):
            engine[(turn.pk, slug)] = (result, engine_ms)
    # Then turn by turn: its other engines, its store, ``each`` (the live push). Why not every engine first:
    # behind a backlog the batch's writes (stores, pushes) then came back to back, and on the embedded
    # SQLite file the web's turn store, waiting for the write lock, sleeps in SQLite's busy handler.
    out: dict[int, list[tuple[Assessment, bool]]] = {}
    for turn in turns:
        results = out.setdefault(turn.pk, [])
        for slug in wanted[turn.pk]:
            if slug in done.get(turn.pk, ()):
                results.append((Assessment.objects.get(turn=turn, framework_slug=slug), False))
                continue
            assessor = assessors.get(slug)
            if assessor is None:
                continue
            if (turn.pk, slug) not in engine:
                started = time.perf_counter()
                result = assessor.assess(utterance=turn.text, context=context_of(turn))
                engine[(turn.pk, slug)] = (result, round(1000 * (time.perf_counter() - started)))
            result, engine_ms = engine[(turn.pk, slug)]
            logger.info("assessed turn %s with %s in %d ms", turn.pk, slug, engine_ms)
            results.append(
                assessment_store(
                    turn=turn,
                    result=result,
                    framework_slug=slug,
                    engine_ms=engine_ms,
                    framework_id=framework_current_pk(slug=slug),
                )
            )
        if each is not None:
            each(turn.pk, results)
    return out


def session_turns_unassessed(*, session_id: int) -> list[int]:
    """Trainee turns of the session missing an assessment for one of its frameworks."""
    turns = Turn.objects.filter(session_id=session_id, speaker=Turn.Speaker.TRAINEE).select_related(
        "session__scenario_version"
    )
    missing = []
    for turn in turns:
        wanted = set(turn.session.scenario_version.framework_slugs or []) & set(
            Framework.objects.filter(kind__in=("skill-rubric", "behaviour-coding", "formulation")).values_list(
                "slug", flat=True
            )
        )
        have = set(turn.assessments.values_list("framework_slug", flat=True))
        if wanted - have:
            missing.append(turn.pk)
    return missing
