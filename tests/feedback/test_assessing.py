"""Assessing turns in-process: idempotency, corrections steering later feedback, session end, formulation scoring."""

from __future__ import annotations

import pytest
from django.urls import reverse

from feedback.models import Assessment, FormulationWorksheet
from feedback.services.assessments import session_turns_unassessed, turn_assess
from feedback.services.formulation import worksheet_save, worksheet_score
from feedback.services.live import live_assessment_record
from feedback.services.reviews import review_record
from feedback.tasks import live_assess_session_rest, live_assess_turn
from tests.factories import TEST_PASSWORD
from tests.feedback.live_support import people, session_make, starter_framework_install, turn_add

pytestmark = pytest.mark.django_db


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))


@pytest.fixture
def push(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr("feedback.services.live.session_push", recorder)
    return recorder


@pytest.fixture
def dear_man():
    return starter_framework_install("dear-man")


def test_task_run_twice_stores_and_pushes_once(dear_man, push):
    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=["dear-man"])
    turn = turn_add(session=session, text="I'd like a raise of two thousand pounds from April, because I've covered the late shift.")
    live_assessment_record(turn_id=turn.pk, session_id=session.pk)  # the outbox row the turn's transaction writes
    first = live_assess_turn(turn.pk)
    second = live_assess_turn(turn.pk)
    assert len(first) == 1 and second == []
    assert Assessment.objects.filter(turn=turn).count() == 1
    assessment = Assessment.objects.get(turn=turn)
    assert assessment.items.count() == 7 and assessment.pushed_at is not None
    assert len(push.calls) == 1
    html = push.calls[0][1]["html"]
    assert push.calls[0][1]["kind"] == "feedback"
    assert html.count('data-testid="feedback-item"') == 7 and 'hx-swap-oob="afterbegin"' in html
    assert "<details" in html and "data-exemplar-id=" in html
    # The one or two skills that matter now come first; every other rating is one click away.
    focus = assessment.labels["focus"]
    assert 1 <= len(focus) <= 2 and 'data-testid="feedback-all-ratings"' in html
    folded = html.split('data-testid="feedback-all-ratings"', 1)
    assert all(f'data-skill="{skill}"' in folded[0] for skill in focus)
    assert folded[1].count('data-testid="feedback-item"') == 7 - len(focus)


def test_exam_sessions_are_assessed_without_hints(dear_man, push):
    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=["dear-man"], exam=True, live_feedback=False)
    turn = turn_add(session=session, text="I want Fridays off.")
    live_assessment_record(turn_id=turn.pk, session_id=session.pk)
    assert live_assess_turn(turn.pk) == []
    assert Assessment.objects.filter(turn=turn).count() == 1
    assert push.calls == []


def test_persona_turns_are_not_assessed(dear_man):
    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=["dear-man"])
    assert turn_assess(turn_id=session.turns.get(index=0).pk) == []


def test_feedback_on_a_similar_utterance_follows_a_correction(dear_man):
    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=["dear-man"])
    said = "Could we maybe talk about my hours at some point, if that's okay?"
    assessment, _ = turn_assess(turn_id=turn_add(session=session, text=said).pk)[0]
    item = assessment.items.get(skill="assert")
    corrected = "strong" if item.label != "strong" else "absent"
    review_record(item=item, reviewer=p["instructor"], verdict="disagree", corrected_label=corrected,
                  corrected_text="Instructor: this counts as a clear request here.")

    later = session_make(trainee=p["trainee"], framework_slugs=["dear-man"])
    again, _ = turn_assess(turn_id=turn_add(session=later, text="Could we maybe talk about my hours at some point, if that's OK?").pk)[0]
    follows = again.items.get(skill="assert")
    assert follows.label == corrected
    assert str(item.reviews.get().exemplar_id) in [e["id"] for e in follows.exemplars]


def test_session_end_assesses_missing_turns(dear_man):
    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=["dear-man"])
    turns = [turn_add(session=session, text=t) for t in ("Hi, thanks for meeting.", "I need Fridays off.")]
    turn_add(session=session, text="Sure.", speaker="persona")
    turn_assess(turn_id=turns[0].pk)
    assert session_turns_unassessed(session_id=session.pk) == [turns[1].pk]
    assert live_assess_session_rest(session.pk) == [turns[1].pk]
    assert session_turns_unassessed(session_id=session.pk) == []


def test_formulation_worksheet_is_scored_field_by_field(client):
    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=[], persona_kind="cbt-patient", status="ended")
    worksheet = worksheet_save(session=session, results_visible=True, fields={
        "situation": "A colleague corrected her drug chart.",  # the persona's own situation
        "automatic_thoughts": "",
        "emotions": ["ashamed", "sad"],
        "behaviour": "She went for a run.",
        "core_beliefs": ["I am unlovable"],
        "intermediate_beliefs": "",
        "coping_strategies": "Overworks.",
    })
    worksheet = worksheet_score(worksheet_id=worksheet.pk)
    fields = worksheet.score["fields"]
    assert fields["situation"]["label"] == "complete"
    assert fields["automatic_thoughts"]["label"] == "missing"
    assert fields["emotions"]["label"] == "partial" and fields["emotions"]["extra"] == ["sad"]
    assert fields["core_beliefs"]["label"] == "missing" and fields["core_beliefs"]["missed"] == ["I am incompetent"]
    assert fields["coping_strategies"]["label"] == "complete"
    assert fields["behaviour"]["label"] in ("missing", "partial") and fields["behaviour"]["missed"]
    assert fields["core_beliefs"]["reference"] == "I am incompetent"  # revealed after scoring
    assert 0 < worksheet.score["total"] < 1
    scored_at = worksheet.scored_at
    assert worksheet_score(worksheet_id=worksheet.pk).scored_at == scored_at  # idempotent

    assert client.login(username=p["trainee"].username, password=TEST_PASSWORD)
    page = client.get(reverse("feedback:debrief", args=[session.pk])).content.decode()
    assert 'data-field="core_beliefs" data-label="missing"' in page
    assert "Missed: I am incompetent" in page and 'data-testid="formulation-form"' in page


def test_formulation_form_saves_and_enqueues(client, django_capture_on_commit_callbacks, monkeypatch):
    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=[], persona_kind="cbt-patient", status="ended")
    delay = Recorder()
    monkeypatch.setattr("feedback.tasks.report_formulation_score.delay", delay)
    assert client.login(username=p["trainee"].username, password=TEST_PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("feedback:debrief_formulation", args=[session.pk]),
                               {"situation": "At work.", "emotions": ["ashamed"], "core_beliefs": ["I am incompetent"]},
                               HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-testid="formulation-scoring"' in response.content.decode()
    assert "<html" not in response.content.decode()  # the partial, swapped in place
    worksheet = FormulationWorksheet.objects.get(session=session)
    assert worksheet.fields["emotions"] == ["ashamed"]
    assert delay.calls == [((worksheet.pk,), {})]
    # Only the trainee may fill it in.
    client.logout()
    assert client.login(username=p["instructor"].username, password=TEST_PASSWORD)
    assert client.post(reverse("feedback:debrief_formulation", args=[session.pk]), {"situation": "x"}).status_code == 404


def test_formulation_without_htmx_gets_the_whole_page(client, django_capture_on_commit_callbacks, monkeypatch):
    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=[], persona_kind="cbt-patient", status="ended")
    monkeypatch.setattr("feedback.tasks.report_formulation_score.delay", Recorder())
    assert client.login(username=p["trainee"].username, password=TEST_PASSWORD)
    url = reverse("feedback:debrief_formulation", args=[session.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="debrief"' in page.content.decode()
    invalid = client.post(url, {"situation": "x" * 2001, "emotions": ["not an emotion"]})
    body = invalid.content.decode()
    assert invalid.status_code == 422 and 'data-testid="debrief"' in body and "<html" in body
    assert "at most 2000 characters" in body and "not one of the available choices" in body
    assert not FormulationWorksheet.objects.filter(session=session).exists()
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(url, {"situation": "At work."})
    assert saved.status_code == 302 and saved["Location"].endswith(reverse("feedback:debrief", args=[session.pk]) + "#formulation-worksheet")
    assert FormulationWorksheet.objects.get(session=session).fields["situation"] == "At work."
