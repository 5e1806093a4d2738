"""Starting practice sessions, and releasing an exam's results."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from simulations.models import PracticeSession, Scenario, Turn
from simulations.packs.schema import MODE_DEFAULTS
from simulations.personas.state import persona_state_initial


def _persona_state_initial(*, persona_data: dict, scenario_data: dict) -> dict:
    return persona_state_initial(persona=persona_data, scenario=scenario_data).to_dict()


def exam_seed(*, version_id: int) -> int:
    """Every candidate of one exam scenario version meets the same scripted partner (same seed)."""
    return int.from_bytes(hashlib.sha256(f"exam-version:{version_id}".encode()).digest()[:4], "big") % 2**31


@transaction.atomic
def practice_session_start(*, user, scenario: Scenario, style: str | None = None, exam: bool | None = None) -> PracticeSession:
    """A session on the scenario's current version; the persona's opening line
    is stored as turn 0 so the transcript starts where the trainee sees it."""
    version = scenario.current_version
    if version is None:
        raise ValueError(f"scenario {scenario.slug} has no version to play")
    scenario_data, persona_data = version.scenario_data, version.persona_data
    modes = {**MODE_DEFAULTS, **(scenario_data.get("modes") or {})}
    exam = bool(modes["exam"] or exam)  # an exam-only scenario cannot be practised
    authored_style = scenario_data.get("style") or persona_data.get("style") or "plain"
    session = PracticeSession.objects.create(
        trainee=user,
        scenario_version=version,
        # Exams: the authored style and a seed fixed by the version, so every candidate meets the same partner.
        style=authored_style if exam else (style or authored_style),
        exam=exam,
        live_feedback=bool(modes["live_feedback"]) and not exam,  # exams give no hints
        seed=exam_seed(version_id=version.pk) if exam else secrets.randbelow(2**31),
        persona_state=_persona_state_initial(persona_data=persona_data, scenario_data=scenario_data),
    )
    opening = (scenario_data.get("opening_line") or "").strip()
    if opening:
        Turn.objects.create(session=session, index=0, speaker=Turn.Speaker.PERSONA, text=opening, source=Turn.Source.OPENING)
    return session


class ResultsReleaseError(Exception):
    """The results cannot be released (yet); the message says why."""


def session_results_release(*, session: PracticeSession, released_by) -> PracticeSession:
    """Unseal an ended exam session's debrief for its trainee (idempotent: the first release stands)."""
    if session.status != PracticeSession.Status.ENDED:
        raise ResultsReleaseError("The session has not ended yet; results can be released once it has.")
    PracticeSession.objects.filter(pk=session.pk, results_released_at__isnull=True).update(
        results_released_at=timezone.now(), results_released_by=released_by
    )
    session.refresh_from_db(fields=["results_released_at", "results_released_by"])
    return session
