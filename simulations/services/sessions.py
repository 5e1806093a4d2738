"""Starting practice sessions."""

from __future__ import annotations

import secrets

from django.db import transaction

from simulations.models import PracticeSession, Scenario, Turn
from simulations.packs.schema import MODE_DEFAULTS
from simulations.personas.state import persona_state_initial


def _persona_state_initial(*, persona_data: dict, scenario_data: dict) -> dict:
    return persona_state_initial(persona=persona_data, scenario=scenario_data).to_dict()


@transaction.atomic
def practice_session_start(*, user, scenario: Scenario, style: str | None = None, exam: bool | None = None) -> PracticeSession:
    """A session on the scenario's current version; the persona's opening line
    is stored as turn 0 so the transcript starts where the trainee sees it."""
    version = scenario.current_version
    if version is None:
        raise ValueError(f"scenario {scenario.slug} has no version to play")
    scenario_data, persona_data = version.scenario_data, version.persona_data
    modes = {**MODE_DEFAULTS, **(scenario_data.get("modes") or {})}
    exam = modes["exam"] if exam is None else exam
    session = PracticeSession.objects.create(
        trainee=user,
        scenario_version=version,
        style=style or scenario_data.get("style") or persona_data.get("style") or "plain",
        exam=exam,
        live_feedback=bool(modes["live_feedback"]) and not exam,  # exams give no hints
        seed=secrets.randbelow(2**31),
        persona_state=_persona_state_initial(persona_data=persona_data, scenario_data=scenario_data),
    )
    opening = (scenario_data.get("opening_line") or "").strip()
    if opening:
        Turn.objects.create(session=session, index=0, speaker=Turn.Speaker.PERSONA, text=opening, source=Turn.Source.OPENING)
    return session
