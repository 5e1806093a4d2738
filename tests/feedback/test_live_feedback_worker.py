"""Live feedback through the real queue: turn stored → Celery worker assesses → pushed to the session group."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from feedback.models import Assessment, AssessmentRequest
from simulations.events import session_group_name, turn_stored_announce
from tests.feedback.live_support import people, session_make, starter_framework_install, turn_add

UTTERANCES = [
    "For the last three months I've covered the late shift twice a week.",
    "I'm frustrated because it's left me exhausted.",
    "I'd like a raise of two thousand pounds from April.",
    "If you agree, I'll keep covering the late shift when we're short.",
    "I hear the budget is tight, but I'd still like an answer on the raise.",
    "Could we maybe, if it's okay, talk about it at some point?",
    "What would work for you, a smaller raise now and a review in six months?",
    "Sorry, I know you're busy, this probably isn't a good time.",
    "I've trained three new starters this year.",
    "I want to be paid fairly for the work I do.",
    "So, to come back to it, I'm asking for the raise from April.",
]


@pytest.fixture
def dear_man(transactional_db):
    # Installed before the worker starts, so the worker warms its assessor at worker_ready.
    return starter_framework_install("dear-man")


def _store(session, text: str) -> int:
    with transaction.atomic():
        turn = turn_add(session=session, text=text)
        turn_stored_announce(turn_id=turn.pk, session_id=session.pk)  # as the session service does
    return turn.pk


def test_turns_are_assessed_and_pushed_by_the_worker(dear_man, celery_worker_process):
    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=["dear-man"])
    layer = get_channel_layer()

    async def run() -> list[tuple[int, dict]]:
        channel = await layer.new_channel()
        await layer.group_add(session_group_name(session.pk), channel)
        received = []
        for text in UTTERANCES:
            turn_id = await sync_to_async(_store)(session, text)
            message = await asyncio.wait_for(layer.receive(channel), timeout=120)
            received.append((turn_id, message))
        return received

    received = async_to_sync(run)()
    for turn_id, message in received:
        assert message["type"] == "session.push" and message["kind"] == "feedback"
        assert message["data"]["turn_id"] == turn_id
        assert message["html"].count('data-testid="feedback-item"') == 7
        assessment = Assessment.objects.get(turn_id=turn_id, framework_slug="dear-man")
        assert assessment.items.count() == 7 and assessment.pushed_at is not None

    # Latency is measured by `make bench` (live_feedback_p95_ms), not asserted here.



@pytest.fixture
def sweeping_worker(dear_man, process_logs):
    """A real worker running beat, with a 1 s sweep for assessments pending over 1 s."""
    from tests.support import processes

    log = process_logs / "sweeping-worker.log"
    proc = processes.start_worker(log_path=log, beat=True, LIVE_FEEDBACK_SWEEP_S="1", LIVE_FEEDBACK_STALE_S="1")
    try:
        processes.wait_for_worker(proc)
        yield log
    finally:
        processes.stop(proc)


def _assessed(turn_id: int, timeout: float = 90.0) -> bool:
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        request = AssessmentRequest.objects.filter(turn_id=turn_id).first()
        if request is not None and request.status == "done":
            return True
        time.sleep(0.25)
    return False


@pytest.mark.timeout(240)
def test_a_turn_whose_enqueue_was_lost_is_still_assessed_once_by_the_worker(sweeping_worker, monkeypatch):
    """The web process dies between the commit and the enqueue: the turn and its request are
    committed, the task never published. The worker's sweep finds it; duplicate deliveries
    (the sweep's and two more) assess it once."""
    from feedback.services import live
    from feedback.tasks import live_assess_turn

    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=["dear-man"])
    monkeypatch.setattr(live, "_enqueue_soon", lambda **kwargs: None)  # "killed" before enqueueing
    turn_id = _store(session, UTTERANCES[2])
    monkeypatch.undo()
    assert AssessmentRequest.objects.get(turn_id=turn_id).status == "pending"
    assert _assessed(turn_id), f"the sweep did not get the turn assessed; see {sweeping_worker}"
    for _ in range(2):
        live_assess_turn.delay(turn_id)  # late duplicates
    import time

    time.sleep(3)
    request = AssessmentRequest.objects.get(turn_id=turn_id)
    assert request.status == "done" and request.attempts == 1 and request.enqueued_at is not None
    assert Assessment.objects.filter(turn_id=turn_id).count() == 1
    assert sweeping_worker.read_text().count(f"assessed turn {turn_id} with dear-man") == 1
