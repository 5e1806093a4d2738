"""The debrief, its downloads and the formulation worksheet stay closed while a session runs
and, for exams, until an instructor releases the results; a worksheet handed in after the
patient's model was shown is kept but never counts."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback.access_rules import NOT_ENDED, NOT_RELEASED, results_access
from feedback.models import FormulationWorksheet
from feedback.selectors.formulation import worksheet_counted
from feedback.services.formulation import worksheet_save
from simulations.models import PracticeSession
from tests.feedback.live_support import people, session_make

pytestmark = pytest.mark.django_db

CORE_BELIEF = "I am incompetent"
INTERMEDIATE = "If I don't do everything perfectly, people will see I can't cope."
ANSWERS = {"situation": "At work.", "emotions": ["ashamed"], "core_beliefs": [CORE_BELIEF]}
DEBRIEF_URLS = ("feedback:debrief", "feedback:debrief_markdown", "feedback:debrief_json", "feedback:debrief_formulation")


@pytest.fixture(autouse=True)
def _no_queue(monkeypatch):
    # Scoring is enqueued after commit; these tests score by hand (scoring itself is tested in test_assessing).
    monkeypatch.setattr("feedback.tasks.report_formulation_score.delay", lambda *a, **k: None)


def _score(worksheet: FormulationWorksheet, total: float) -> FormulationWorksheet:
    reference = {"reference": f"model: {CORE_BELIEF} / {INTERMEDIATE}", "label": "partial", "explanation": "x"}
    worksheet.score = {"fields": {"core_beliefs": reference}, "total": total}
    worksheet.scored_at = timezone.now()
    worksheet.save(update_fields=["score", "scored_at"])
    return worksheet


def _cbt_session(p, **fields) -> PracticeSession:
    return session_make(trainee=p["trainee"], framework_slugs=[], persona_kind="cbt-patient", **fields)


# --- the rules, pure ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ended", "exam", "released", "owner", "reviewer", "expected"),
    [
        (False, False, False, True, False, (False, False, False)),
        (False, False, False, False, True, (False, False, False)),
        (True, False, False, True, False, (True, True, True)),
        (True, True, False, True, False, (True, False, True)),
        (True, True, True, True, False, (True, True, True)),
        (True, True, False, False, True, (True, True, False)),
    ],
)
def test_results_access_rules(ended, exam, released, owner, reviewer, expected):
    access = results_access(ended=ended, exam=exam, released=released, is_owner=owner, is_reviewer=reviewer)
    assert (access.debrief, access.results, access.worksheet_submit) == expected


# --- a running session ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["trainee", "instructor", "admin"])
def test_a_running_sessions_debrief_downloads_and_worksheet_are_closed(client, who):
    p = people()
    session = _cbt_session(p)
    client.force_login(p[who])
    for name in DEBRIEF_URLS:
        response = client.get(reverse(name, args=[session.pk]))
        body = response.content.decode()
        assert response.status_code == 403, name
        assert NOT_ENDED.split(".")[0] in body and 'data-testid="debrief-unavailable"' in body, name
        assert CORE_BELIEF not in body and INTERMEDIATE not in body, name


def test_the_worksheet_cannot_be_submitted_mid_session(client):
    p = people()
    session = _cbt_session(p)
    client.force_login(p["trainee"])
    response = client.post(reverse("feedback:debrief_formulation", args=[session.pk]), ANSWERS)
    assert response.status_code == 403
    assert CORE_BELIEF not in response.content.decode().replace(NOT_ENDED, "")
    assert not FormulationWorksheet.objects.filter(session=session).exists()


def test_the_debriefs_panel_lists_only_ended_sessions(client):
    p = people()
    running, ended = _cbt_session(p), _cbt_session(p, status="ended", ended_at=timezone.now())
    client.force_login(p["trainee"])
    body = client.get(reverse("dashboard")).content.decode()
    assert reverse("feedback:debrief", args=[ended.pk]) in body
    assert reverse("feedback:debrief", args=[running.pk]) not in body


# --- the first submission counts --------------------------------------------------------


def test_a_submission_after_the_reveal_is_kept_marked_and_does_not_count(client):
    p = people()
    session = _cbt_session(p, status="ended", ended_at=timezone.now())
    client.force_login(p["trainee"])
    url = reverse("feedback:debrief_formulation", args=[session.pk])
    assert client.post(url, {**ANSWERS, "situation": "First try."}, HTTP_HX_REQUEST="true").status_code == 200
    # Revising before the score (and the model beside it) is shown revises the same submission.
    assert client.post(url, {**ANSWERS, "situation": "Second try."}, HTTP_HX_REQUEST="true").status_code == 200
    first = worksheet_counted(session_id=session.pk)
    assert FormulationWorksheet.objects.filter(session=session).count() == 1 and first.fields["situation"] == "Second try."
    _score(first, total=0.4)
    page = client.get(reverse("feedback:debrief", args=[session.pk])).content.decode()
    assert CORE_BELIEF in page  # revealed with the score, now that the session has ended

    response = client.post(url, {**ANSWERS, "situation": "Copied from the model."}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    rows = list(FormulationWorksheet.objects.filter(session=session).order_by("submitted_at", "pk"))
    assert [(w.fields["situation"], w.after_reveal) for w in rows] == [("Second try.", False), ("Copied from the model.", True)]
    assert worksheet_counted(session_id=session.pk).pk == first.pk
    _score(rows[1], total=1.0)
    page = client.get(reverse("feedback:debrief", args=[session.pk])).content.decode()
    assert 'data-testid="formulation-after-reveal"' in page and "does not count" in page
    assert "Overall: 0.40" in page  # the score that counts is the first one
    # and once more: still one counted submission, the newest later one shown
    client.post(url, {**ANSWERS, "situation": "Third."})
    assert FormulationWorksheet.objects.filter(session=session, after_reveal=False).count() == 1
    assert FormulationWorksheet.objects.filter(session=session, after_reveal=True).count() == 2


def test_the_service_refuses_a_second_counted_row_at_the_database(transactional_db):
    from django.db import IntegrityError

    p = people()
    session = _cbt_session(p, status="ended", ended_at=timezone.now())
    worksheet_save(session=session, fields=ANSWERS, results_visible=True)
    with pytest.raises(IntegrityError):
        FormulationWorksheet.objects.create(session=session, fields=ANSWERS)


# --- exams --------------------------------------------------------------------------------


def test_an_exam_is_sealed_until_its_results_are_released(client):
    p = people()
    session = _cbt_session(p, exam=True, status="ended", ended_at=timezone.now())
    client.force_login(p["trainee"])
    page = client.get(reverse("feedback:debrief", args=[session.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and NOT_RELEASED.split(".")[0] in body
    assert 'data-testid="debrief-transcript"' not in body and 'data-testid="debrief-download"' not in body
    for name in ("feedback:debrief_markdown", "feedback:debrief_json"):
        assert client.get(reverse(name, args=[session.pk])).status_code == 403, name
    # The candidate may hand in a formulation; even once scored, neither score nor model shows.
    url = reverse("feedback:debrief_formulation", args=[session.pk])
    assert 'data-testid="formulation-handed-in"' in client.post(url, ANSWERS, HTTP_HX_REQUEST="true").content.decode()
    _score(worksheet_counted(session_id=session.pk), total=0.5)
    body = client.get(reverse("feedback:debrief", args=[session.pk])).content.decode()
    assert "model:" not in body and "Overall:" not in body
    # A revision before release revises the counted submission (nothing has been revealed).
    client.post(url, {**ANSWERS, "situation": "Revised."})
    assert FormulationWorksheet.objects.filter(session=session).count() == 1

    # The instructor sees the results and releases them.
    client.force_login(p["instructor"])
    assert 'data-testid="debrief-transcript"' in client.get(reverse("feedback:debrief", args=[session.pk])).content.decode()
    response = client.post(reverse("feedback:review_release", args=[session.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-testid="results-released"' in response.content.decode()
    session.refresh_from_db()
    assert session.results_released_at is not None and session.results_released_by == p["instructor"]

    client.force_login(p["trainee"])
    assert client.get(reverse("feedback:debrief_json", args=[session.pk])).status_code == 200
    body = client.get(reverse("feedback:debrief", args=[session.pk])).content.decode()
    assert 'data-testid="results-sealed"' not in body and 'data-testid="debrief-transcript"' in body


def test_results_of_a_running_exam_cannot_be_released(client):
    p = people()
    session = _cbt_session(p, exam=True)
    client.force_login(p["instructor"])
    response = client.post(reverse("feedback:review_release", args=[session.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and "has not ended" in response.content.decode()
    session.refresh_from_db()
    assert session.results_released_at is None


@pytest.mark.parametrize("who", ["trainee", "other_instructor", "other_trainee"])
def test_only_the_trainees_instructors_may_release(client, who):
    p = people()
    session = _cbt_session(p, exam=True, status="ended", ended_at=timezone.now())
    client.force_login(p[who])
    assert client.post(reverse("feedback:review_release", args=[session.pk])).status_code in (403, 404)
    session.refresh_from_db()
    assert session.results_released_at is None


def test_an_unreleased_exam_stays_out_of_the_trend_in_later_debriefs():
    from feedback.selectors.assessments import framework_infos, trainee_score_history
    from tests.factories import FrameworkFactory
    from tests.feedback.live_support import assessment_make, turn_add

    p = people()
    framework = FrameworkFactory()
    exam = session_make(trainee=p["trainee"], framework_slugs=[framework.slug], exam=True, status="ended")
    assessment_make(turn=turn_add(session=exam, text="Please."), framework=framework, labels={"assert": "strong"})
    later = session_make(trainee=p["trainee"], framework_slugs=[framework.slug])
    infos = framework_infos(slugs=[framework.slug])
    assert not trainee_score_history(session=later, frameworks=infos).get(framework.slug)
    PracticeSession.objects.filter(pk=exam.pk).update(results_released_at=timezone.now())
    assert len(trainee_score_history(session=later, frameworks=infos)[framework.slug]) == 1


def test_a_trainees_own_profile_leaves_out_sealed_exams_but_their_instructor_sees_them(client):
    from tests.factories import FrameworkFactory
    from tests.feedback.live_support import assessment_make, turn_add

    p = people()
    framework = FrameworkFactory()
    exam = session_make(trainee=p["trainee"], framework_slugs=[framework.slug], exam=True, status="ended")
    assessment_make(turn=turn_add(session=exam, text="Sealed words."), framework=framework, labels={"assert": "strong"})
    url = reverse("feedback:trainee_profile", args=[p["trainee"].pk])
    client.force_login(p["trainee"])
    assert exam.pk not in [r.session.pk for r in client.get(url).context["profile"].sessions]
    client.force_login(p["instructor"])
    assert exam.pk in [r.session.pk for r in client.get(url).context["profile"].sessions]
