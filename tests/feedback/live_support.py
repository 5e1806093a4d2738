"""Helpers for the feedback tests: starter frameworks, sessions with turns, stored assessments."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from feedback.models import Assessment, AssessmentItem, Exemplar, Framework
from simulations.models import PracticeSession, Turn
from tests.factories import CohortFactory, ScenarioFactory, UserFactory

STARTER = Path(__file__).resolve().parents[2] / "simulations" / "starter_packs" / "frameworks.yaml"


@cache
def _starter_frameworks() -> dict:
    return {f["slug"]: f for f in yaml.safe_load(STARTER.read_text())["frameworks"]}


def starter_framework_install(slug: str) -> Framework:
    """One starter framework with its exemplars, as the pack import would store it."""
    data = dict(_starter_frameworks()[slug])
    exemplars = data.pop("exemplars", [])
    framework = Framework.objects.create(
        slug=data["slug"], kind=data["kind"], name=data["name"],
        data={k: data[k] for k in ("description", "labels", "skills", "targets") if k in data},
    )
    Exemplar.objects.bulk_create([
        Exemplar(framework=framework, skill=e["skill"], label=e["label"], context=e.get("context") or [],
                 utterance=e["utterance"], feedback=e.get("feedback") or "", rewrite=e.get("rewrite") or "",
                 source=e.get("source") or "authored", position=i)
        for i, e in enumerate(exemplars)
    ])
    return framework


def people():
    """A trainee in an instructor's cohort, another trainee, another instructor, an admin."""
    trainee = UserFactory(role="trainee")
    instructor = UserFactory(role="instructor")
    CohortFactory(owner=instructor, members=[trainee])
    other_instructor = UserFactory(role="instructor")
    CohortFactory(owner=other_instructor, members=[UserFactory(role="trainee")])
    return {
        "trainee": trainee, "instructor": instructor, "other_trainee": UserFactory(role="trainee"),
        "other_instructor": other_instructor, "admin": UserFactory(role="admin"),
    }


def session_make(*, trainee, framework_slugs: list[str], persona_kind: str | None = None, **fields) -> PracticeSession:
    scenario = ScenarioFactory(frameworks=framework_slugs)
    version = scenario.current_version
    if persona_kind:
        version.persona_data = {**version.persona_data, "kind": persona_kind}
        version.save(update_fields=["persona_data"])
    session = PracticeSession.objects.create(trainee=trainee, scenario_version=version, **fields)
    Turn.objects.create(session=session, index=0, speaker=Turn.Speaker.PERSONA, text="So what did you want to talk about?")
    return session


def turn_add(*, session: PracticeSession, text: str, speaker: str = Turn.Speaker.TRAINEE) -> Turn:
    index = (session.turns.order_by("-index").values_list("index", flat=True).first() or 0) + 1
    return Turn.objects.create(session=session, index=index, speaker=speaker, text=text)


def assessment_make(*, turn: Turn, framework: Framework, labels: dict[str, str], rewrite: str = "") -> Assessment:
    assessment = Assessment.objects.create(turn=turn, framework=framework, framework_slug=framework.slug,
                                           kind=framework.kind, backend="test")
    for i, (skill, label) in enumerate(labels.items()):
        AssessmentItem.objects.create(assessment=assessment, position=i, skill=skill, label=label,
                                      suggestion=f"Work on {skill}.", rewrite=rewrite)
    return assessment
