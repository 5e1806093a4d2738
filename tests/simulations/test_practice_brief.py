"""The trainee's brief page and starting a session from it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from simulations.models import PracticeSession
from simulations.services.sessions import practice_session_start
from tests.factories import CohortFactory, ScenarioFactory, UserFactory

pytestmark = pytest.mark.django_db


def _assigned(trainee, **kwargs):
    scenario = ScenarioFactory(**kwargs)
    scenario.cohorts.add(CohortFactory(members=[trainee]))
    return scenario


def test_assigned_trainee_sees_brief_with_all_six_styles(client):
    trainee = UserFactory(role="trainee")
    scenario = _assigned(trainee)
    client.force_login(trainee)
    response = client.get(reverse("simulations:scenario_brief", args=[scenario.slug]))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Brief of {scenario.title}." in page and "Build rapport" in page
    assert 'data-testid="session-start"' in page
    for style in ("plain", "upset", "verbose", "reserved", "tangent", "pleasing"):
        assert f'value="{style}"' in page
    assert "SECRET-FACT" not in page


@pytest.mark.parametrize("who", ["outsider", "archived", "anonymous"])
def test_brief_is_hidden_from_those_not_assigned(client, who):
    trainee = UserFactory(role="trainee")
    scenario = _assigned(trainee)
    if who == "outsider":
        client.force_login(UserFactory(role="trainee"))
    elif who == "archived":
        scenario.is_archived = True
        scenario.save()
        client.force_login(trainee)
    response = client.get(reverse("simulations:scenario_brief", args=[scenario.slug]))
    if who == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == 404
    posted = client.post(reverse("simulations:scenario_brief", args=[scenario.slug]), {"mode": "text"})
    assert posted.status_code == (302 if who == "anonymous" else 404)
    assert not PracticeSession.objects.exists()


@pytest.mark.parametrize("role", ["instructor", "admin"])
def test_instructors_and_admins_may_read_any_brief(client, role):
    scenario = ScenarioFactory()
    client.force_login(UserFactory(role=role))
    assert client.get(reverse("simulations:scenario_brief", args=[scenario.slug])).status_code == 200


def test_start_creates_session_with_chosen_style_and_redirects(client):
    trainee = UserFactory(role="trainee")
    scenario = _assigned(trainee)
    client.force_login(trainee)
    response = client.post(reverse("simulations:scenario_brief", args=[scenario.slug]), {"style": "tangent", "mode": "voice"})
    session = PracticeSession.objects.get(trainee=trainee)
    assert response["Location"] == f"/practice/sessions/{session.pk}/?mode=voice"
    assert session.style == "tangent"
    assert session.scenario_version == scenario.current_version
    assert session.turns.get(index=0).source == "opening"


def test_start_refuses_a_style_that_is_not_offered(client):
    trainee = UserFactory(role="trainee")
    scenario = _assigned(trainee)
    client.force_login(trainee)
    response = client.post(reverse("simulations:scenario_brief", args=[scenario.slug]), {"style": "custom", "mode": "text"})
    assert response.status_code == 400
    assert not PracticeSession.objects.exists()


def test_practice_session_start_defaults():
    scenario = ScenarioFactory()
    data = dict(scenario.current_version.scenario_data, modes={"exam": True})
    scenario.current_version.scenario_data = data
    scenario.current_version.save()
    session = practice_session_start(user=UserFactory(), scenario=scenario)
    assert session.exam is True and session.live_feedback is False  # exams give no hints
    assert session.style == "reserved"  # the persona's own style
    state = pytest.importorskip("simulations.personas.state")
    expected = state.persona_state_initial(persona=scenario.current_version.persona_data, scenario=data).to_dict()
    assert session.persona_state == expected and expected  # the engine's initial state, not {}
