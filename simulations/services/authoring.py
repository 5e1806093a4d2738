"""Writing personas and scenarios. Content is stored in canonical pack format;
a scenario's content lives in immutable ScenarioVersions, so a new version is
created whenever the scenario *or its persona* changes, and sessions keep the
version (with its frozen persona) they were played with."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from simulations.models import Persona, Scenario, ScenarioVersion
from simulations.packs.schema import PERSONA, SCENARIO, canonical


def persona_save(*, data: dict, user=None, persona: Persona | None = None) -> tuple[Persona, str]:
    """Create or update a persona from validated pack data.

    Returns the persona and what happened: "created", "updated" or "unchanged".
    Scenarios using an updated persona get a new version carrying the new persona."""
    data = canonical(data, PERSONA)
    if persona is None:
        persona = Persona.objects.filter(slug=data["slug"]).first()
    if persona is None:
        persona = Persona.objects.create(slug=data["slug"], kind=data["kind"], name=data["name"], data=data)
        return persona, "created"
    data = {**data, "slug": persona.slug}  # the slug is the identity: never renamed by an edit
    data = canonical(data, PERSONA)
    if persona.data == data:
        return persona, "unchanged"
    with transaction.atomic():
        persona.kind, persona.name, persona.data = data["kind"], data["name"], data
        persona.save()
        for scenario in persona.scenarios.select_related("current_version"):
            if scenario.current_version:
                scenario_version_ensure(scenario=scenario, scenario_data=scenario.current_version.scenario_data, user=user)
    return persona, "updated"


def _scenario_effective(data: dict) -> dict:
    # Omitted optional fields and their documented defaults mean the same
    # scenario: saving an imported scenario unchanged must not add a version.
    from simulations.selectors.authoring import scenario_modes, scenario_time_limit_minutes

    return {
        **data,
        "modes": scenario_modes(scenario_data=data),
        "time_limit_minutes": scenario_time_limit_minutes(scenario_data=data),
    }


def scenario_version_ensure(*, scenario: Scenario, scenario_data: dict, user=None) -> ScenarioVersion | None:
    """A new current version when the scenario data, its persona or its
    frameworks differ from the current version; None when nothing changed
    (so re-importing the same pack never adds versions)."""
    scenario_data = canonical(scenario_data, SCENARIO)
    persona_data = scenario.persona.data
    framework_slugs = list(scenario_data["frameworks"])
    current = scenario.current_version
    if (
        current is not None
        and _scenario_effective(current.scenario_data) == _scenario_effective(scenario_data)
        and current.persona_data == persona_data
        and current.framework_slugs == framework_slugs
    ):
        return None
    number = (scenario.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    version = ScenarioVersion.objects.create(
        scenario=scenario,
        number=number,
        scenario_data=scenario_data,
        persona_data=persona_data,
        framework_slugs=framework_slugs,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    scenario.current_version = version
    scenario.title = scenario_data["title"]
    scenario.save(update_fields=["current_version", "title", "updated_at"])
    return version


@transaction.atomic
def scenario_save(*, data: dict, user=None, scenario: Scenario | None = None) -> tuple[Scenario, str]:
    """Create or update a scenario from validated pack data (its persona must exist).

    Returns the scenario and "created", "updated" (a new version) or "unchanged"."""
    data = canonical(data, SCENARIO)
    if scenario is None:
        scenario = Scenario.objects.filter(slug=data["slug"]).first()
    persona = Persona.objects.get(slug=data["persona"])
    if scenario is None:
        scenario = Scenario.objects.create(slug=data["slug"], title=data["title"], persona=persona)
        scenario_version_ensure(scenario=scenario, scenario_data=data, user=user)
        return scenario, "created"
    data = canonical({**data, "slug": scenario.slug}, SCENARIO)
    if scenario.persona_id != persona.pk:
        scenario.persona = persona
        scenario.save(update_fields=["persona", "updated_at"])
    version = scenario_version_ensure(scenario=scenario, scenario_data=data, user=user)
    return scenario, "updated" if version else "unchanged"


def scenario_cohorts_set(*, scenario: Scenario, cohorts) -> None:
    """Cohort assignment belongs to the installation, not to the pack."""
    scenario.cohorts.set(cohorts)


def scenario_archive_set(*, scenario: Scenario, archived: bool) -> None:
    if scenario.is_archived != archived:
        scenario.is_archived = archived
        scenario.save(update_fields=["is_archived", "updated_at"])


def _free_slug(model, base: str) -> str:
    base = base[:70]
    candidate, n = f"{base}-copy", 2
    while model.objects.filter(slug=candidate).exists():
        candidate, n = f"{base}-copy-{n}", n + 1
    return candidate


@transaction.atomic
def scenario_duplicate(*, scenario: Scenario, user=None) -> Scenario:
    """A copy at version 1 with a fresh slug; cohorts are not copied (assign on purpose)."""
    data = dict(scenario.current_version.scenario_data)
    data["slug"] = _free_slug(Scenario, scenario.slug)
    data["title"] = f"{data['title']} (copy)"[:200]
    copy, _ = scenario_save(data=data, user=user)
    return copy


@transaction.atomic
def persona_duplicate(*, persona: Persona, user=None) -> Persona:
    data = dict(persona.data)
    data["slug"] = _free_slug(Persona, persona.slug)
    data["name"] = f"{data['name']} (copy)"[:120]
    copy, _ = persona_save(data=data, user=user)
    return copy
