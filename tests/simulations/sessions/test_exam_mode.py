"""Exam mode: every candidate meets the same partner on the same path, trainees choose exam
where their instructor allows it, and the starter library has exam variants."""

from __future__ import annotations

import pytest
from django.urls import reverse

from simulations.models import PracticeSession, Scenario
from simulations.services.packs import starter_packs_load
from simulations.services.sessions import exam_seed, practice_session_start
from tests.factories import CohortFactory, ScenarioFactory, UserFactory
from tests.simulations.personas.test_ten_turn_conversations import run_session

pytestmark = pytest.mark.django_db

LINES = ["Hello, thanks for coming in. What brings you here today?",
         "That sounds hard. Can you tell me about a recent time you felt like that?",
         "What went through your mind in that moment?"]


@pytest.fixture
def starters(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    results = starter_packs_load()
    assert all(r.ok for r in results.values()), {k: r.summary() for k, r in results.items()}


def test_the_starter_library_has_exam_variants_for_each_kind(starters):
    exams = Scenario.objects.filter(slug__startswith="exam-").select_related("persona", "current_version")
    kinds = {s.persona.kind for s in exams if s.current_version.scenario_data["modes"]["exam"]}
    assert kinds == {"cbt-patient", "interpersonal-partner", "mi-client"}
    assert all(s.current_version.scenario_data["modes"]["live_feedback"] is False for s in exams)


def test_every_candidate_of_an_exam_gets_the_same_seed_style_and_conversation_path(starters):
    scenario = Scenario.objects.get(slug="exam-aisling-cbt")
    a, b = (practice_session_start(user=UserFactory(role="trainee"), scenario=scenario, style="upset") for _ in range(2))
    assert a.exam and b.exam and not a.live_feedback
    assert a.seed == b.seed == exam_seed(version_id=scenario.current_version_id)
    assert a.style == b.style == (scenario.current_version.scenario_data.get("style")
                                  or scenario.current_version.persona_data.get("style") or "plain")
    version = scenario.current_version
    persona, scn = version.persona_data, version.scenario_data
    path_a = [s.reply for s in run_session(persona=persona, scn=scn, lines=LINES, seed=a.seed)]
    path_b = [s.reply for s in run_session(persona=persona, scn=scn, lines=LINES, seed=b.seed)]
    assert path_a == path_b and len(set(path_a)) > 1
    # A new version of the scenario is a new exam: another seed.
    assert exam_seed(version_id=version.pk + 1) != a.seed


def test_practice_sessions_are_not_seeded_alike():
    scenario = ScenarioFactory()
    seeds = {practice_session_start(user=UserFactory(role="trainee"), scenario=scenario).seed for _ in range(4)}
    assert len(seeds) > 1


def _brief_setup(*, exam_choice: bool):
    trainee = UserFactory(role="trainee")
    cohort = CohortFactory(members=[trainee])
    cohort.exam_choice = exam_choice
    cohort.save(update_fields=["exam_choice"])
    scenario = ScenarioFactory(cohorts=[cohort])
    return trainee, cohort, scenario


def test_a_trainee_chooses_exam_where_the_cohort_allows_it(client):
    trainee, _, scenario = _brief_setup(exam_choice=True)
    client.force_login(trainee)
    url = reverse("simulations:scenario_brief", args=[scenario.slug])
    assert 'data-testid="session-kind"' in client.get(url).content.decode()
    response = client.post(url, {"mode": "text", "kind": "exam", "style": "plain"})
    assert response.status_code == 302
    session = PracticeSession.objects.get(trainee=trainee)
    assert session.exam and not session.live_feedback and session.seed == exam_seed(version_id=scenario.current_version_id)


def test_without_the_cohorts_permission_there_is_no_choice_and_no_exam(client):
    trainee, _, scenario = _brief_setup(exam_choice=False)
    client.force_login(trainee)
    url = reverse("simulations:scenario_brief", args=[scenario.slug])
    assert 'data-testid="session-kind"' not in client.get(url).content.decode()
    client.post(url, {"mode": "text", "kind": "exam", "style": "plain"})
    assert PracticeSession.objects.get(trainee=trainee).exam is False


def test_the_instructor_allows_the_choice_for_their_own_cohort_only(client):
    trainee, cohort, _ = _brief_setup(exam_choice=False)
    url = reverse("cohort_exam_choice", args=[cohort.pk])
    client.force_login(UserFactory(role="instructor"))  # not this cohort's
    assert client.post(url, {"allowed": "on"}).status_code == 404
    client.force_login(trainee)
    assert client.post(url, {"allowed": "on"}).status_code == 403
    client.force_login(cohort.owner)
    assert 'data-testid="cohort-exam-choice"' in client.get(reverse("cohorts")).content.decode()
    response = client.post(url, {"allowed": "on"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "checked" in response.content.decode()
    cohort.refresh_from_db()
    assert cohort.exam_choice is True
    client.post(url, {})
    cohort.refresh_from_db()
    assert cohort.exam_choice is False
