"""A generated cohort for the analytics tests and `make bench`: trainees x sessions x
trainee turns, each turn assessed on every skill of a framework, stored with bulk_create.

Deterministic (seeded). Levels improve over a trainee's sessions with noise, so
trajectories and the first -> latest change are meaningful."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from feedback.models import Assessment, AssessmentItem, Framework, Review
from simulations.models import Persona, PracticeSession, Scenario, ScenarioVersion, Turn
from trainer_app.models import Cohort

PASSWORD = "cohort-pass-123"  # noqa: S105 - generated test users


@dataclass
class GeneratedCohort:
    cohort: Cohort
    instructor: object
    trainee_ids: list[int]
    session_ids: list[int]
    scenario: Scenario
    framework: Framework


@contextlib.contextmanager
def _explicit_timestamps(*models):
    """Let bulk_create keep the timestamps we set (auto_now_add would overwrite them)."""
    saved = []
    for model in models:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now_add", False):
                saved.append(f)
                f.auto_now_add = False
    try:
        yield
    finally:
        for f in saved:
            f.auto_now_add = True


def _scenario(*, framework: Framework, slug: str, difficulty: str) -> Scenario:
    persona, _ = Persona.objects.get_or_create(
        slug=f"{slug}-persona", defaults={"kind": "interpersonal-partner", "name": "Sam",
                                           "data": {"slug": f"{slug}-persona", "name": "Sam", "kind": "interpersonal-partner"}})
    scenario = Scenario.objects.create(slug=slug, title=f"Scenario {slug}", persona=persona)
    version = ScenarioVersion.objects.create(
        scenario=scenario, number=1, persona_data=persona.data, framework_slugs=[framework.slug],
        scenario_data={"slug": slug, "title": f"Scenario {slug}", "difficulty": {"level": difficulty}, "frameworks": [framework.slug]},
    )
    scenario.current_version = version
    scenario.save(update_fields=["current_version"])
    return scenario


def cohort_generate(*, framework: Framework, trainees: int = 10, sessions: int = 5, turns: int = 5, seed: int = 1,
                    instructor=None, name: str = "", start: dt.datetime | None = None, reviews_every: int = 50,
                    voice_every: int = 3, exam_every: int = 7, difficulty: str = "medium", batch: int = 5000) -> GeneratedCohort:
    """``trainees`` members, each with ``sessions`` sessions (one every two days from ``start``),
    each with ``turns`` trainee turns (and the partner's replies), every trainee turn assessed on
    every skill of ``framework``; every ``reviews_every``-th item gets an instructor correction."""
    rng = random.Random(seed)
    User = get_user_model()
    tag = name or f"gen{seed}"
    start = start or (timezone.now() - dt.timedelta(days=2 * sessions + 1))
    skills = [s["slug"] for s in framework.data.get("skills") or []]
    labels = list(framework.data.get("labels") or ["strong", "weak", "absent"])
    with transaction.atomic(), _explicit_timestamps(PracticeSession, Turn, Assessment, AssessmentItem, Review):
        if instructor is None:
            instructor = User.objects.create(username=f"{tag}-instructor", password=make_password(PASSWORD))
            instructor.groups.add(Group.objects.get_or_create(name="instructor")[0])
        hashed = make_password(PASSWORD)
        users = User.objects.bulk_create([User(username=f"{tag}-t{i:03d}", password=hashed) for i in range(trainees)])
        group = Group.objects.get_or_create(name="trainee")[0]
        group.user_set.add(*users)
        cohort = Cohort.objects.create(name=f"{tag} cohort", owner=instructor)
        cohort.members.add(*users)
        scenario = _scenario(framework=framework, slug=f"{tag}-scenario", difficulty=difficulty)
        version = scenario.current_version
        session_objs = []
        for u_index, user in enumerate(users):
            for s_index in range(sessions):
                started = start + dt.timedelta(days=2 * s_index, minutes=u_index)
                session_objs.append(PracticeSession(
                    trainee=user, scenario_version=version, status=PracticeSession.Status.ENDED,
                    exam=(s_index + u_index) % exam_every == exam_every - 1, started_at=started,
                    ended_at=started + dt.timedelta(minutes=turns * 2), persona_state={}))
        session_objs = PracticeSession.objects.bulk_create(session_objs, batch_size=batch)
        turn_objs = []
        for s_pos, session in enumerate(session_objs):
            for k in range(turns):
                at = session.started_at + dt.timedelta(seconds=60 * k)
                turn_objs.append(Turn(session=session, index=2 * k, speaker=Turn.Speaker.TRAINEE, text=f"Trainee line {k} of session {session.pk}.",
                                      source=Turn.Source.VOICE if (s_pos + k) % voice_every == 0 else Turn.Source.TEXT, created_at=at))
                turn_objs.append(Turn(session=session, index=2 * k + 1, speaker=Turn.Speaker.PERSONA, text="I see.",
                                      meta={"engine": "scripted"}, created_at=at + dt.timedelta(seconds=20)))
        Turn.objects.bulk_create(turn_objs, batch_size=batch)
        trainee_turns = list(Turn.objects.filter(session__in=[s.pk for s in session_objs], speaker=Turn.Speaker.TRAINEE)
                             .values_list("pk", "session_id", "created_at"))
        session_pos = {s.pk: (i % sessions, i // sessions) for i, s in enumerate(session_objs)}
        assessments = Assessment.objects.bulk_create(
            [Assessment(turn_id=pk, framework=framework, framework_slug=framework.slug, kind=framework.kind, backend="generated",
                        elapsed_ms=rng.randint(80, 400), engine_ms=rng.randint(20, 120), created_at=at)
             for pk, _session_id, at in trainee_turns], batch_size=batch)
        items = []
        for assessment, (_pk, session_id, _at) in zip(assessments, trainee_turns, strict=True):
            ordinal, trainee_pos = session_pos[session_id]
            for position, skill in enumerate(skills):
                ability = 0.25 + 0.5 * ordinal / max(sessions - 1, 1) + 0.1 * ((trainee_pos * 7 + position) % 5 - 2) / 2
                x = ability + rng.gauss(0, 0.25)
                label = labels[0] if x > 0.66 else labels[1] if x > 0.33 else labels[-1]
                items.append(AssessmentItem(assessment=assessment, position=position, skill=skill, label=label,
                                            confidence=0.7, suggestion=f"Work on {skill}."))
        items = AssessmentItem.objects.bulk_create(items, batch_size=batch)
        if reviews_every:
            Review.objects.bulk_create([
                Review(item=item, reviewer=instructor, verdict=Review.Verdict.DISAGREE, corrected_label=labels[0],
                       corrected_text="Clearer than the engine thought.", created_at=timezone.now())
                for item in items[::reviews_every] if item.label != labels[0]
            ], batch_size=batch)
    return GeneratedCohort(cohort=cohort, instructor=instructor, trainee_ids=[u.pk for u in users],
                           session_ids=[s.pk for s in session_objs], scenario=scenario, framework=framework)
