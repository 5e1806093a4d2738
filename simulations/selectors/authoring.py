"""Reading personas, scenarios and their versions."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from simulations.models import Persona, PracticeSession, Scenario, ScenarioVersion
from simulations.packs.schema import DEFAULT_TIME_LIMIT_MINUTES, MODE_DEFAULTS


def scenario_list(*, include_archived: bool = True) -> QuerySet[Scenario]:
    scenarios = Scenario.objects.select_related("persona", "current_version").annotate(cohort_count=Count("cohorts"))
    return scenarios if include_archived else scenarios.filter(is_archived=False)


def persona_list() -> QuerySet[Persona]:
    return Persona.objects.annotate(scenario_count=Count("scenarios"))


def scenario_get(*, slug: str) -> Scenario | None:
    return Scenario.objects.select_related("persona", "current_version").filter(slug=slug).first()


def persona_get(*, slug: str) -> Persona | None:
    return Persona.objects.filter(slug=slug).first()


def scenario_version_snapshot(*, version: ScenarioVersion) -> dict:
    """Everything a session needs about what was played, frozen with the version:
    {"scenario_slug", "version", "scenario": pack dict, "persona": pack dict, "frameworks": [slugs]}."""
    return {
        "scenario_slug": version.scenario.slug,
        "version": version.number,
        "scenario": version.scenario_data,
        "persona": version.persona_data,
        "frameworks": list(version.framework_slugs),
    }


def practice_session_snapshot(*, session: PracticeSession) -> dict:
    """The snapshot of the version this session was played with (never the scenario's newest)."""
    return scenario_version_snapshot(version=session.scenario_version)


def scenario_modes(*, scenario_data: dict) -> dict[str, bool]:
    """Modes with their documented defaults filled in."""
    return {**MODE_DEFAULTS, **(scenario_data.get("modes") or {})}


def scenario_time_limit_minutes(*, scenario_data: dict) -> int:
    return int(scenario_data.get("time_limit_minutes") or DEFAULT_TIME_LIMIT_MINUTES)


def scenario_trainee_view(*, version: ScenarioVersion) -> dict:
    """What a trainee may read before playing: never the persona's facts,
    cognitive model, script or partner/client internals."""
    scenario, persona = version.scenario_data, version.persona_data
    return {
        "slug": scenario["slug"],
        "title": scenario["title"],
        "brief": scenario["brief"],
        "learning_objectives": list(scenario.get("learning_objectives") or []),
        "difficulty": (scenario.get("difficulty") or {}).get("level", "medium"),
        "time_limit_minutes": scenario_time_limit_minutes(scenario_data=scenario),
        "modes": scenario_modes(scenario_data=scenario),
        "style": scenario.get("style") or persona.get("style") or "plain",
        "persona": {"name": persona["name"], "kind": persona["kind"], "summary": persona["summary"]},
        "version": version.number,
    }
