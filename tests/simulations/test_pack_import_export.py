"""Import/export services: round trips, update semantics, versions, starter packs."""

from __future__ import annotations

import pytest
import yaml

from feedback.models import Exemplar
from simulations.models import Persona, Scenario, ScenarioVersion
from simulations.services.packs import (
    STARTER_PACKS_DIR,
    pack_export,
    pack_import,
    starter_pack_files,
    starter_packs_load,
)
from tests.simulations.pack_samples import as_yaml, small_pack

pytestmark = pytest.mark.django_db


def _wipe() -> None:
    """An empty installation (versions are protected by Scenario.current_version)."""
    from feedback.models import Framework

    Scenario.objects.update(current_version=None)
    for model in (ScenarioVersion, Scenario, Persona, Exemplar, Framework):
        model.objects.all().delete()


def test_small_pack_round_trip_is_identical():
    assert pack_import(content=as_yaml(small_pack())).ok
    first = pack_export(slugs=["tiny-first-session"])
    # Dependencies come along: the persona and the framework with its exemplars.
    data = yaml.safe_load(first)
    assert list(data) == ["version", "frameworks", "personas", "scenarios"]
    assert [f["slug"] for f in data["frameworks"]] == ["tiny-dear-man"]
    assert [p["slug"] for p in data["personas"]] == ["tiny-maya"]
    assert len(data["frameworks"][0]["exemplars"]) == 2
    assert "id" not in data["frameworks"][0]["exemplars"][0]  # ids belong to one installation
    # Keys in documented order.
    assert list(data["scenarios"][0]) == [
        "slug", "title", "persona", "frameworks", "brief", "learning_objectives", "difficulty", "opening_line",
        "time_limit_minutes", "modes",
    ]
    _wipe()
    assert pack_import(content=first).ok
    assert pack_export(slugs=["tiny-first-session"]) == first


def test_export_everything_when_no_slug_given():
    assert pack_import(content=as_yaml(small_pack())).ok
    data = yaml.safe_load(pack_export())
    assert [s["slug"] for s in data["scenarios"]] == ["tiny-first-session"]


def test_update_creates_a_new_version_and_keeps_the_old():
    assert pack_import(content=as_yaml(small_pack())).ok
    scenario = Scenario.objects.get(slug="tiny-first-session")
    v1 = scenario.current_version
    pack = small_pack()
    pack["scenarios"][0]["brief"] = "A new brief."
    result = pack_import(content=as_yaml(pack), update=True)
    assert result.ok, result.errors
    assert result.outcome["scenarios"]["updated"] == ["tiny-first-session"]
    scenario.refresh_from_db()
    assert scenario.current_version.number == 2
    assert scenario.current_version.scenario_data["brief"] == "A new brief."
    v1.refresh_from_db()
    assert v1.scenario_data["brief"] == "You are seeing Maya for the first time."


def test_reimporting_unchanged_content_adds_no_version():
    assert pack_import(content=as_yaml(small_pack())).ok
    result = pack_import(content=as_yaml(small_pack()), update=True)
    assert result.ok
    assert result.count("created") == 0 and result.count("updated") == 0
    assert ScenarioVersion.objects.count() == 1


def test_persona_update_versions_the_scenarios_that_use_it():
    assert pack_import(content=as_yaml(small_pack())).ok
    pack = small_pack()
    del pack["scenarios"]
    pack["personas"][0]["summary"] = "35 now."
    assert pack_import(content=as_yaml(pack), update=True).ok
    scenario = Scenario.objects.get(slug="tiny-first-session")
    assert scenario.current_version.number == 2
    assert scenario.current_version.persona_data["summary"] == "35 now."
    assert scenario.versions.get(number=1).persona_data["summary"] == "34, nurse, low mood since a move."


def test_framework_update_keeps_matching_exemplars_and_instructor_corrections():
    assert pack_import(content=as_yaml(small_pack())).ok
    kept = Exemplar.objects.get(skill="describe")
    correction = Exemplar.objects.create(framework=kept.framework, skill="assert", label="strong", utterance="I want 42k.",
                                         source=Exemplar.Source.CORRECTION, position=9)
    pack = small_pack()
    pack["frameworks"][0]["exemplars"] = pack["frameworks"][0]["exemplars"][:1]
    result = pack_import(content=as_yaml(pack), update=True)
    assert result.outcome["frameworks"]["updated"] == ["tiny-dear-man"]
    assert set(Exemplar.objects.values_list("pk", flat=True)) == {kept.pk, correction.pk}


@pytest.mark.skipif(not (STARTER_PACKS_DIR / "frameworks.yaml").exists(), reason="starter packs not written yet")
def test_starter_packs_import_idempotently_and_round_trip():
    results = starter_packs_load()
    assert list(results)[0] == "frameworks.yaml"
    for name, result in results.items():
        assert result.ok, (name, result.errors[:10])
    versions = ScenarioVersion.objects.count()
    assert versions == Scenario.objects.count() > 0
    again = starter_packs_load()
    assert all(r.count("created") == 0 and r.count("updated") == 0 for r in again.values())
    assert ScenarioVersion.objects.count() == versions

    first = pack_export()
    assert pack_import(content=first, update=True).count("updated") == 0
    _wipe()
    result = pack_import(content=first)
    assert result.ok, result.errors[:10]
    assert pack_export() == first


def test_starter_pack_order_puts_frameworks_first(tmp_path):
    for name in ("a.yaml", "frameworks.yaml", "z.yaml"):
        (tmp_path / name).write_text("version: 1\n")
    assert [p.name for p in starter_pack_files(directory=tmp_path)] == ["frameworks.yaml", "a.yaml", "z.yaml"]
