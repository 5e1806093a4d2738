"""simulations' own pack sections (personas, scenarios), registered in
SimulationsConfig.ready next to the sections other apps contribute."""

from __future__ import annotations

from collections.abc import Iterable

from simulations.models import Persona, Scenario
from simulations.packs.checks import Errors, join
from simulations.packs.personas import persona_validate
from simulations.packs.registry import PackContext, pack_section_register
from simulations.packs.scenarios import scenario_validate
from simulations.packs.schema import PERSONA, SCENARIO, canonical


def _personas_validate(*, items: list, path: str, context: PackContext) -> list[str]:
    errors = Errors()
    for i, item in enumerate(items):
        persona_validate(item=item, path=join(path, i), errors=errors)
    return errors


def _scenarios_validate(*, items: list, path: str, context: PackContext) -> list[str]:
    errors = Errors()
    for i, item in enumerate(items):
        scenario_validate(item=item, path=join(path, i), errors=errors, context=context)
    return errors


def _import(save, items: list[dict], user) -> dict[str, list[str]]:
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    for item in items:
        obj, status = save(data=item, user=user)
        outcome[status].append(obj.slug)
    return outcome


def _personas_import(*, items: list[dict], update: bool, user=None) -> dict[str, list[str]]:
    from simulations.services.authoring import persona_save

    return _import(persona_save, items, user)


def _scenarios_import(*, items: list[dict], update: bool, user=None) -> dict[str, list[str]]:
    from simulations.services.authoring import scenario_save

    return _import(scenario_save, items, user)


def _personas_export(*, slugs: Iterable[str]) -> list[dict]:
    # Sorted by slug: the same selection always exports in the same order.
    return [canonical(p.data, PERSONA) for p in Persona.objects.filter(slug__in=list(slugs)).order_by("slug")]


def _scenarios_export(*, slugs: Iterable[str]) -> list[dict]:
    scenarios = Scenario.objects.filter(slug__in=list(slugs), current_version__isnull=False).select_related("current_version")
    return [canonical(s.current_version.scenario_data, SCENARIO) for s in scenarios.order_by("slug")]


def _scenario_dependencies(*, item: dict) -> dict[str, list[str]]:
    return {"personas": [item["persona"]], "frameworks": list(item.get("frameworks") or [])}


def pack_sections_register_simulations() -> None:
    pack_section_register(
        name="personas",
        order=20,
        validate=_personas_validate,
        import_=_personas_import,
        export=_personas_export,
        exists=lambda *, slug: Persona.objects.filter(slug=slug).exists(),
        choices=lambda: list(Persona.objects.order_by("name").values_list("slug", "name")),
    )
    pack_section_register(
        name="scenarios",
        order=30,
        validate=_scenarios_validate,
        import_=_scenarios_import,
        export=_scenarios_export,
        exists=lambda *, slug: Scenario.objects.filter(slug=slug).exists(),
        dependencies=_scenario_dependencies,
        choices=lambda: list(Scenario.objects.order_by("title").values_list("slug", "title")),
    )
