"""The session page, ending a session (to the debrief) and the past-sessions panel."""

from __future__ import annotations

import pytest
from django.urls import reverse

from simulations.models import PracticeSession, Turn
from tests.factories import UserFactory
from tests.simulations.sessions.helpers import session_setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    data = session_setup()
    session = data["session"]
    Turn.objects.create(session=session, index=1, speaker="trainee", text="How are you doing?",
                        state_after={"trust": 0.21, "level": 1, "mood": "neutral"})
    Turn.objects.create(session=session, index=2, speaker="persona", text="Not great, honestly.", reply_to_id=session.turns.get(index=1).pk)
    return data


def _page(client, user, session):
    client.force_login(user)
    return client.get(reverse("simulations:session_page", args=[session.pk]))


def test_trainee_sees_history_controls_and_feedback_panel_but_never_state_or_facts(client, setup):
    response = _page(client, setup["trainee"], setup["session"])
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('data-testid="trainee-message"') == 1 and page.count('data-testid="persona-message"') == 2
    assert "Hi. I&#x27;m not sure what to say." in page and "Not great, honestly." in page
    # the microphone appears once the trainee has agreed to voice recording (docs/privacy.md)
    for hook in ("chat-input", "chat-send", "voice-consent-form", "end-session", "session-timer", "speak-replies", "feedback-panel"):
        assert f'data-testid="{hook}"' in page, hook
    assert 'id="feedback-panel"' in page
    assert 'data-testid="persona-state"' not in page and "SECRET-FACT" not in page and "critical father" not in page
    assert 'data-ends-at="' in page and "/ws/practice/" in page


def test_feedback_panel_hidden_in_exam_or_without_live_feedback(client, setup):
    PracticeSession.objects.filter(pk=setup["session"].pk).update(live_feedback=False)
    page = _page(client, setup["trainee"], setup["session"]).content.decode()
    assert 'id="feedback-panel"' not in page


@pytest.mark.parametrize("role", ["instructor", "admin"])
def test_instructors_and_admins_read_only_with_persona_state(client, setup, role):
    user = setup["instructor"] if role == "instructor" else UserFactory(role="admin")
    page = _page(client, user, setup["session"]).content.decode()
    assert 'data-testid="read-only-banner"' in page and 'data-can-write="false"' in page
    assert 'data-testid="chat-input"' not in page and 'data-testid="end-session"' not in page
    assert 'data-testid="persona-state-row"' in page and "0.21" in page and "situation" in page and "neutral" in page
    assert "SECRET-FACT" not in page
    assert client.post(reverse("simulations:session_end", args=[setup["session"].pk])).status_code == 403


def test_others_get_404(client, setup):
    assert _page(client, setup["outsider"], setup["session"]).status_code == 404
    assert _page(client, UserFactory(role="instructor"), setup["session"]).status_code == 404  # not their cohort
    client.logout()
    response = client.get(reverse("simulations:session_page", args=[setup["session"].pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_end_session_redirects_to_the_debrief(client, setup):
    client.force_login(setup["trainee"])
    session = setup["session"]
    response = client.post(reverse("simulations:session_end", args=[session.pk]))
    assert response.status_code == 302 and response["Location"] == f"/practice/sessions/{session.pk}/debrief/"
    session.refresh_from_db()
    assert session.status == "ended" and session.ended_at is not None
    debrief = client.get(response["Location"])
    assert debrief.status_code == 200 and 'data-testid="debrief"' in debrief.content.decode()
    assert "Not great, honestly." in debrief.content.decode()
    page = client.get(reverse("simulations:session_page", args=[session.pk])).content.decode()
    assert 'data-testid="session-ended"' in page and 'data-testid="chat-input"' not in page
    assert client.get(f"/practice/sessions/{session.pk}/debrief/", HTTP_HOST="testserver").status_code == 200
    client.force_login(setup["outsider"])
    assert client.get(f"/practice/sessions/{session.pk}/debrief/").status_code == 404


def test_past_sessions_panel_lists_sessions_with_resume_links(client, setup):
    client.force_login(setup["trainee"])
    page = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="past-sessions"' in page
    assert f'href="/practice/sessions/{setup["session"].pk}/"' in page and 'data-testid="session-resume"' in page
