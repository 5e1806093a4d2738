"""import_pack / export_pack / load_starter_packs: exit codes and messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from simulations.models import Scenario, ScenarioVersion
from tests.simulations.pack_samples import as_yaml, small_pack

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_import_then_export_commands(tmp_path, capsys):
    source = tmp_path / "pack.yaml"
    source.write_text(as_yaml(small_pack()))
    call_command("import_pack", str(source))
    assert "3 created" in capsys.readouterr().out
    out = tmp_path / "out.yaml"
    call_command("export_pack", "--output", str(out), "tiny-first-session")
    assert "slug: tiny-first-session" in out.read_text()


def test_import_command_lists_every_error_and_fails(tmp_path, capsys):
    pack = small_pack()
    pack["personas"][0]["cognitive_model"]["core_beliefs"] = ["I am a failure"]
    pack["scenarios"][0]["modes"]["exam"] = "yes"
    source = tmp_path / "bad.yaml"
    source.write_text(as_yaml(pack))
    with pytest.raises(CommandError, match="2 error"):
        call_command("import_pack", str(source))
    err = capsys.readouterr().err
    assert 'personas[0].cognitive_model.core_beliefs[0]: "I am a failure" is not one of the 19 core beliefs' in err
    assert 'scenarios[0].modes.exam: must be true or false, not "yes"' in err
    assert Scenario.objects.count() == 0


def test_duplicate_needs_update_flag(tmp_path):
    source = tmp_path / "pack.yaml"
    source.write_text(as_yaml(small_pack()))
    call_command("import_pack", str(source))
    with pytest.raises(CommandError):
        call_command("import_pack", str(source))
    pack = small_pack()
    pack["scenarios"][0]["title"] = "Renamed"
    source.write_text(as_yaml(pack))
    call_command("import_pack", str(source), "--update")
    assert Scenario.objects.get().title == "Renamed"
    assert ScenarioVersion.objects.count() == 2


def test_export_unknown_slug_fails(tmp_path):
    with pytest.raises(CommandError, match="nothing installed is called: ghost"):
        call_command("export_pack", "--output", str(tmp_path / "x.yaml"), "ghost")


def test_process_exit_code_is_non_zero_on_a_bad_pack(tmp_path):
    """The real command line, as an admin runs it (the load step fails before any database access)."""
    source = tmp_path / "bad.yaml"
    source.write_text("version: 1\npersonas: !!python/name:os.system\n")
    env_dir = tmp_path / "var"
    proc = subprocess.run(
        [sys.executable, "manage.py", "import_pack", str(source)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "VAR_DIR": str(env_dir)},
    )
    assert proc.returncode != 0
    assert "is not allowed" in proc.stderr


def test_load_starter_packs_command_reports_errors(tmp_path, monkeypatch, capsys):
    from simulations.services import packs

    (tmp_path / "broken.yaml").write_text("version: 1\npersonas: [{slug: x}]\n")
    monkeypatch.setattr(packs, "STARTER_PACKS_DIR", tmp_path)
    with pytest.raises(CommandError):
        call_command("load_starter_packs")
    assert "broken.yaml: personas[0].kind: is required" in capsys.readouterr().err
