"""Live feedback's outbox: recorded with the turn, enqueued after commit, claimed once, swept when stuck."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from feedback.models import AssessmentRequest
from feedback.services import live
from simulations.events import turn_stored_announce
from tests.feedback.live_support import people, session_make, turn_add

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enqueued(monkeypatch):
    calls: list[dict] = []

    def apply_async(*, args, countdown, retry):
        calls.append({"args": args, "countdown": countdown, "retry": retry})

    from feedback.tasks import live_assess_turn

    monkeypatch.setattr(live_assess_turn, "apply_async", apply_async)
    return calls


def _settled(calls: list, n: int, timeout: float = 10.0) -> list:
    """The enqueue runs on feedback's enqueue thread: wait for ``n`` calls (or the timeout)."""
    deadline = time.monotonic() + timeout
    while len(calls) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # and no more than n
    return calls


def _stored(session, text="I'd like a raise from April.", *, fail=False) -> int | None:
    turn_id = None
    try:
        with transaction.atomic():
            turn = turn_add(session=session, text=text)
            turn_id = turn.pk
            turn_stored_announce(turn_id=turn.pk, session_id=session.pk)  # as trainee_turn_submit does
            if fail:
                raise RuntimeError("the turn's transaction fails")
    except RuntimeError:
        return None
    return turn_id


def test_recorded_with_the_turn_and_enqueued_after_commit_with_the_configured_delay(settings, enqueued):
    settings.LIVE_FEEDBACK_DELAY_S = 0.1
    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"])
    turn_id = _stored(session)
    request = AssessmentRequest.objects.get(turn_id=turn_id)
    assert request.status == "pending" and request.hints is True
    assert _settled(enqueued, 1) == [{"args": [turn_id], "countdown": 0.1, "retry": False}]


def test_a_rolled_back_turn_leaves_no_request_and_enqueues_nothing(enqueued):
    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"])
    assert _stored(session, fail=True) is None
    assert not AssessmentRequest.objects.exists() and _settled(enqueued, 0) == []


@pytest.mark.parametrize(("fields", "hints"), [({"exam": True}, False), ({"live_feedback": False}, False), ({}, True)])
def test_the_hints_decision_is_taken_once_from_the_session(enqueued, fields, hints):
    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"], **fields)
    assert AssessmentRequest.objects.get(turn_id=_stored(session)).hints is hints


@pytest.mark.parametrize(("fields", "hints"), [({"exam": True}, False), ({"live_feedback": False}, False), ({}, True)])
def test_the_session_read_by_the_storing_transaction_is_used_as_is(enqueued, fields, hints):
    """trainee_turn_submit hands the session row it read (flags loaded): the outbox row is written
    without reading the session or the turn again; a persona turn gets no row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from simulations.models import PracticeSession

    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"], **fields)
    with transaction.atomic():
        row = PracticeSession.objects.only("status", "generating_for_turn", "live_feedback", "exam").get(pk=session.pk)
        trainee_turn = turn_add(session=session, text="I'd like a raise from April.")
        persona_turn = turn_add(session=session, text="I see.", speaker="persona")
        with CaptureQueriesContext(connection) as queries:
            turn_stored_announce(turn_id=trainee_turn.pk, session_id=session.pk, speaker="trainee", session=row)
            turn_stored_announce(turn_id=persona_turn.pk, session_id=session.pk, speaker="persona", session=row)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]  # the outbox row, nothing read
    assert AssessmentRequest.objects.get(turn_id=trainee_turn.pk).hints is hints
    assert not AssessmentRequest.objects.filter(turn_id=persona_turn.pk).exists()
    assert _settled(enqueued, 1) == [{"args": [trainee_turn.pk], "countdown": enqueued[0]["countdown"], "retry": False}]


def test_a_broker_error_on_enqueue_is_logged_not_raised_and_the_sweep_enqueues_later(settings, monkeypatch, caplog):
    from feedback.tasks import live_assess_turn

    def down(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(live_assess_turn, "apply_async", down)
    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"])
    turn_id = _stored(session)  # the turn is stored all the same
    deadline = time.monotonic() + 10
    while "could not enqueue" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "could not enqueue" in caplog.text
    calls = []
    monkeypatch.setattr(live_assess_turn, "apply_async", lambda **kw: calls.append(kw["args"]))
    settings.LIVE_FEEDBACK_STALE_S = 30
    assert live.live_assessments_sweep() == []  # not stale yet
    AssessmentRequest.objects.filter(turn_id=turn_id).update(created_at=timezone.now() - timedelta(seconds=31))
    assert live.live_assessments_sweep() == [turn_id] and calls == [[turn_id]]
    assert live.live_assessments_sweep() == []  # just enqueued: not again until stale once more


def test_the_sweep_takes_over_a_claim_left_running_by_a_dead_worker(settings, enqueued):
    settings.LIVE_FEEDBACK_STALE_S = 30
    settings.LIVE_ASSESS_LEASE_S = 60
    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"])
    done, dead = _stored(session, "First."), _stored(session, "Second.")
    long_ago = timezone.now() - timedelta(seconds=61)  # its lease lapsed: nobody renews it
    slow = _stored(session, "Third.")
    recently = timezone.now() - timedelta(seconds=31)  # stale for a pending row, not for a running one
    AssessmentRequest.objects.filter(turn_id=done).update(status="done", created_at=long_ago)
    AssessmentRequest.objects.filter(turn_id=dead).update(status="running", claimed_at=long_ago, created_at=long_ago)
    AssessmentRequest.objects.filter(turn_id=slow).update(status="running", claimed_at=recently, created_at=long_ago)
    assert live.live_assessments_sweep() == [dead]
    assert live._claim(turn_id=slow) is False and live._claim(turn_id=dead) is True


def test_a_running_assessment_renews_its_lease_so_it_is_never_taken_over(settings, enqueued, monkeypatch):
    settings.LIVE_ASSESS_LEASE_S = 0.3
    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"])
    turn_id = _stored(session)
    seen = []

    def slow(*, turn_ids, each=None):
        (turn_id,) = turn_ids
        claimed = AssessmentRequest.objects.get(turn_id=turn_id).claimed_at
        time.sleep(0.8)  # well past the lease
        seen.append(AssessmentRequest.objects.get(turn_id=turn_id).claimed_at - claimed)
        seen.append(live._claim(turn_id=turn_id))  # a duplicate delivery meanwhile
        return {}

    monkeypatch.setattr("feedback.services.assessments.turns_assess", slow)
    live.live_assessment_run(turn_id=turn_id)
    assert seen[0] >= timedelta(seconds=0.2) and seen[1] is False
    assert AssessmentRequest.objects.get(turn_id=turn_id).attempts == 1


def test_a_turn_is_claimed_once_however_often_its_task_runs(enqueued, monkeypatch):
    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"])
    turn_id = _stored(session)
    calls = []
    monkeypatch.setattr("feedback.services.assessments.turns_assess", lambda *, turn_ids, each=None: calls.extend(turn_ids) or {})
    for _ in range(3):
        live.live_assessment_run(turn_id=turn_id)
    assert calls == [turn_id]
    request = AssessmentRequest.objects.get(turn_id=turn_id)
    assert request.status == "done" and request.attempts == 1 and request.finished_at is not None


def test_a_failed_run_goes_back_to_pending_for_the_retry(enqueued, monkeypatch):
    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"])
    turn_id = _stored(session)

    def broken(*, turn_ids, each=None):
        raise RuntimeError("engine failed")

    monkeypatch.setattr("feedback.services.assessments.turns_assess", broken)
    with pytest.raises(RuntimeError):
        live.live_assessment_run(turn_id=turn_id)
    assert AssessmentRequest.objects.get(turn_id=turn_id).status == "pending"
