"""Module boundaries in feedback: the pack schema depends on nothing of feedback
(no import circle with the selectors and services that use it), and scoring is pure."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(relative: str) -> set[str]:
    tree = ast.parse((ROOT / relative).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):  # local imports too
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_pack_schema_imports_nothing_of_feedback():
    assert not [m for m in _imports("feedback/pack_schema.py") if m.startswith("feedback")]


def test_framework_selectors_and_services_do_not_import_the_pack_hooks():
    for module in ("feedback/selectors/frameworks.py", "feedback/services/frameworks.py"):
        assert "feedback.pack_hooks" not in _imports(module), module


def test_scoring_is_pure():
    assert not [m for m in _imports("feedback/scoring.py") if m.split(".")[0] in ("django", "feedback", "simulations", "trainer_app")]


def test_assessment_selectors_do_not_compute_scores():
    tree = ast.parse((ROOT / "feedback/selectors/assessments.py").read_text(encoding="utf-8"))
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert not defined & {"label_score", "miti_summary", "next_steps", "skill_scores", "behaviour_codes", "relevant_items"}
