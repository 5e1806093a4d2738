"""The trainee's formulation worksheet: saving it and scoring it field by field
(feedback.engines.formulation) against the session's cognitive model.

Scoring runs in a worker: it embeds text, and the web process never loads models."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from feedback.models import FormulationWorksheet
from feedback.selectors.formulation import worksheet_counted, worksheet_model_revealed
from simulations.models import PracticeSession

logger = logging.getLogger(__name__)

FIELDS = ("situation", "automatic_thoughts", "emotions", "behaviour", "core_beliefs", "intermediate_beliefs", "coping_strategies")
FIELD_NAMES = {
    "situation": "Situation", "automatic_thoughts": "Automatic thoughts", "emotions": "Emotions", "behaviour": "Behaviour",
    "core_beliefs": "Core beliefs", "intermediate_beliefs": "Intermediate beliefs", "coping_strategies": "Coping strategies",
}
SET_FIELDS = ("emotions", "core_beliefs")


def worksheet_save(*, session: PracticeSession, fields: dict, results_visible: bool) -> FormulationWorksheet:
    """Store the answers; scoring is enqueued after commit.

    Before the reveal the counted submission is revised (its old score cleared); after it,
    the answers are kept as a new submission marked ``after_reveal``, so that reading the
    model and copying it never improves the score that counts."""
    from feedback.tasks import report_formulation_score

    clean = {key: fields.get(key) or ([] if key in SET_FIELDS else "") for key in FIELDS}
    with transaction.atomic():
        # Serialises concurrent submissions for one session (one counted row at most).
        PracticeSession.objects.select_for_update().filter(pk=session.pk).first()
        counted = worksheet_counted(session_id=session.pk)
        if counted is None:
            worksheet = FormulationWorksheet.objects.create(session=session, fields=clean)
        elif not worksheet_model_revealed(worksheet=counted, results_visible=results_visible):
            counted.fields, counted.score, counted.scored_at = clean, {}, None
            counted.save(update_fields=["fields", "score", "scored_at", "updated_at"])
            worksheet = counted
        else:
            worksheet = FormulationWorksheet.objects.create(session=session, fields=clean, after_reveal=True)
        transaction.on_commit(lambda: report_formulation_score.delay(worksheet.pk))
    return worksheet


def _references(*, model: dict, matched_situation: int) -> dict[str, str]:
    """The patient's model per field: shown next to the score once results are visible (feedback.access_rules)."""
    situations = model.get("situations") or [{}]
    situation = situations[min(matched_situation, len(situations) - 1)]
    join = lambda v: ", ".join(v) if isinstance(v, list) else str(v or "")  # noqa: E731
    return {
        "situation": join(situation.get("description")),
        "automatic_thoughts": join(situation.get("automatic_thoughts")),
        "emotions": join(situation.get("emotions")),
        "behaviour": join(situation.get("behaviour")),
        "core_beliefs": join(model.get("core_beliefs")),
        "intermediate_beliefs": " ".join(
            filter(None, [join(model.get("intermediate_beliefs")), join(model.get("intermediate_beliefs_during_depression"))])
        ),
        "coping_strategies": join(model.get("coping_strategies")),
    }


def formulation_score_dict(*, fields: dict, model: dict) -> dict:
    """{"fields": {field: {label, score, explanation, missed, extra, covered, reference}}, "total": 0..1}."""
    from feedback.engines.formulation import formulation_score

    result = formulation_score(worksheet=fields, cognitive_model=model).as_dict()
    references = _references(model=model, matched_situation=int(result.get("matched_situation") or 0))
    per_field = {key: {**result[key], "reference": references[key]} for key in FIELDS}
    return {"fields": per_field, "total": result["overall"]}


def worksheet_score(*, worksheet_id: int) -> FormulationWorksheet | None:
    """Score the worksheet against the session's cognitive model (idempotent: a scored worksheet is left alone)."""
    worksheet = FormulationWorksheet.objects.select_related("session__scenario_version").filter(pk=worksheet_id).first()
    if worksheet is None or worksheet.scored_at is not None:
        return worksheet
    model = (worksheet.session.scenario_version.persona_data or {}).get("cognitive_model") or {}
    score = formulation_score_dict(fields=dict(worksheet.fields), model=model)
    # Conditional UPDATE: only the answers we scored (a resubmission meanwhile cleared the score and re-enqueued).
    FormulationWorksheet.objects.filter(pk=worksheet.pk, updated_at=worksheet.updated_at, scored_at__isnull=True).update(
        score=score, scored_at=timezone.now()
    )
    worksheet.refresh_from_db()
    return worksheet
