"""Loading and validating packs: every kind of bad pack is refused with a
path-precise error, and nothing reaches the database."""

from __future__ import annotations

import pytest

from feedback.models import Exemplar, Framework
from simulations.models import Persona, Scenario, ScenarioVersion
from simulations.packs.loading import pack_load
from simulations.services.packs import pack_import
from tests.factories import FrameworkFactory
from tests.simulations.pack_samples import as_yaml, small_pack

pytestmark = pytest.mark.django_db


def _assert_nothing_imported():
    assert Framework.objects.count() == 0
    assert Exemplar.objects.count() == 0
    assert Persona.objects.count() == 0
    assert Scenario.objects.count() == 0
    assert ScenarioVersion.objects.count() == 0


def _import_errors(text: str | bytes, **kwargs) -> list[str]:
    result = pack_import(content=text, **kwargs)
    assert not result.ok
    return result.errors


def test_valid_small_pack_imports():
    result = pack_import(content=as_yaml(small_pack()))
    assert result.ok, result.errors
    assert result.outcome["scenarios"]["created"] == ["tiny-first-session"]
    assert Exemplar.objects.filter(framework__slug="tiny-dear-man").count() == 2


def test_bad_yaml_is_refused():
    errors = _import_errors("version: 1\npersonas: [\n  - slug: x\n")
    assert errors[0].startswith("not valid YAML")
    _assert_nothing_imported()


def test_python_tag_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    text = f"version: 1\npersonas: !!python/object/apply:os.system ['touch {marker}']\n"
    errors = _import_errors(text)
    assert "tag !!python/object/apply:os.system is not allowed" in errors[0]
    assert not marker.exists()
    _assert_nothing_imported()


def test_too_large_file_is_refused(settings):
    settings.PACK_MAX_BYTES = 1000
    errors = _import_errors("version: 1\n# " + "x" * 2000 + "\n")
    assert errors == ["the file is 2,014 bytes; the limit is 1,000 bytes"]
    _assert_nothing_imported()


def test_alias_bomb_is_refused():
    lines = ["version: 1", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    text = "\n".join(lines) + "\n"
    assert len(text) < 2000  # tiny on disk, 9**9 strings once expanded
    errors = _import_errors(text)
    assert "expands to more than the allowed size" in errors[0]
    _assert_nothing_imported()


def test_recursive_alias_is_refused():
    errors = _import_errors("version: 1\nscenarios: &loop [*loop]\n")
    assert errors  # either a YAML error or our recursion guard; never a hang
    _assert_nothing_imported()


def test_duplicate_yaml_key_is_refused():
    errors = _import_errors("version: 1\nversion: 1\n")
    assert "the key 'version' appears twice" in errors[0]


def test_unknown_key_is_an_error_with_its_path():
    pack = small_pack()
    pack["personas"][0]["cognitive_model"]["core_belief"] = ["I am helpless"]
    pack["scenarios"][0]["titel"] = "typo"
    errors = _import_errors(as_yaml(pack))
    assert any(e.startswith("personas[0].cognitive_model.core_belief: unknown key") for e in errors)
    assert any(e.startswith("scenarios[0].titel: unknown key") for e in errors)
    _assert_nothing_imported()


def test_bad_enum_is_an_error():
    pack = small_pack()
    pack["personas"][0]["style"] = "grumpy"
    pack["scenarios"][0]["difficulty"]["level"] = "brutal"
    errors = _import_errors(as_yaml(pack))
    assert 'personas[0].style: "grumpy" is not one of plain, upset, verbose, reserved, tangent, pleasing, custom' in errors
    assert 'scenarios[0].difficulty.level: "brutal" is not one of easy, medium, hard' in errors
    _assert_nothing_imported()


def test_bad_core_belief_has_the_exact_path_message():
    pack = small_pack()
    personas = pack["personas"]
    for n in (1, 2):
        extra = dict(personas[0], slug=f"other-{n}")
        personas.append(extra)
    personas[2] = {**personas[2], "cognitive_model": {**personas[2]["cognitive_model"], "core_beliefs": ["I am a failure"]}}
    errors = _import_errors(as_yaml(pack))
    assert errors == ['personas[2].cognitive_model.core_beliefs[0]: "I am a failure" is not one of the 19 core beliefs']
    _assert_nothing_imported()


def test_bad_emotion_and_every_error_is_reported():
    pack = small_pack()
    pack["personas"][0]["cognitive_model"]["situations"][0]["emotions"] = ["bored"]
    pack["scenarios"][0]["time_limit_minutes"] = 500
    errors = _import_errors(as_yaml(pack))
    assert len(errors) == 2
    assert errors[0].startswith('personas[0].cognitive_model.situations[0].emotions[0]: "bored" is not one of the 9 emotions')
    assert errors[1] == "scenarios[0].time_limit_minutes: 500 is too large (must be at most 120)"


def test_missing_persona_reference():
    pack = small_pack()
    pack["scenarios"][0]["persona"] = "nobody"
    errors = _import_errors(as_yaml(pack))
    assert errors == ['scenarios[0].persona: no persona "nobody" in this pack or installed']
    _assert_nothing_imported()


def test_framework_slug_must_exist_in_pack_or_installed():
    pack = small_pack(frameworks=[])
    del pack["frameworks"]
    errors = _import_errors(as_yaml(pack))
    assert errors == ['scenarios[0].frameworks[0]: no framework "tiny-dear-man" in this pack or installed']
    FrameworkFactory(slug="tiny-dear-man")
    assert pack_import(content=as_yaml(pack)).ok  # installed is as good as in the pack


def test_exemplar_label_must_belong_to_its_skill():
    pack = small_pack()
    pack["frameworks"][0]["exemplars"][0]["label"] = "excellent"
    pack["frameworks"][0]["exemplars"][1]["skill"] = "negotiate"
    errors = _import_errors(as_yaml(pack))
    assert 'frameworks[0].exemplars[0].label: "excellent" is not a label of describe (strong, weak, absent)' in errors
    assert any(e.startswith('frameworks[0].exemplars[1].skill: "negotiate" is not a skill of this framework') for e in errors)


def test_duplicate_slug_without_update_is_refused_and_changes_nothing():
    assert pack_import(content=as_yaml(small_pack())).ok
    pack = small_pack()
    pack["scenarios"][0]["brief"] = "Changed brief."
    errors = _import_errors(as_yaml(pack))
    assert 'scenarios[0].slug: "tiny-first-session" already exists; import with update to replace it' in errors
    assert 'personas[0].slug: "tiny-maya" already exists; import with update to replace it' in errors
    assert ScenarioVersion.objects.count() == 1
    assert Scenario.objects.get().current_version.scenario_data["brief"] == "You are seeing Maya for the first time."


def test_duplicate_slug_within_one_pack():
    pack = small_pack()
    pack["personas"].append(dict(pack["personas"][0]))
    errors = _import_errors(as_yaml(pack))
    assert 'personas[1].slug: slug "tiny-maya" appears more than once' in errors


def test_text_field_limit():
    pack = small_pack()
    pack["scenarios"][0]["brief"] = "x" * 5001
    errors = _import_errors(as_yaml(pack))
    assert errors == ["scenarios[0].brief: is 5001 characters long; the limit is 5000"]


def test_wrong_version_and_top_level_unknown_key():
    errors = _import_errors("version: 2\nextras: []\n")
    assert "extras: unknown key (allowed here: version, frameworks, personas, scenarios)" in errors
    assert any(e.startswith("version: 2 is not a supported pack version") for e in errors)


def test_failure_in_a_later_section_rolls_back_earlier_sections(monkeypatch):
    """All or nothing even when a write fails after validation passed."""
    from simulations.packs import registry

    section = registry.pack_section_get(name="scenarios")

    def boom(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setitem(registry._sections, "scenarios", registry.PackSection(**{**section.__dict__, "import_": boom}))
    with pytest.raises(RuntimeError):
        pack_import(content=as_yaml(small_pack()))
    _assert_nothing_imported()


def test_dates_stay_text():
    result = pack_load(content="version: 1\nx: 2024-01-01\n")
    assert result.data["x"] == "2024-01-01"


def test_a_pack_nested_thousands_deep_gets_a_clear_error():
    """Found by tests/security/test_fuzz_inputs.py: the YAML parser overflowed Python's stack."""
    from simulations.packs.loading import pack_load

    result = pack_load(content="[" * 5000 + "]" * 5000)
    assert result.errors == ["the file nests lists or mappings too deeply to be a scenario pack"]
