"""Live feedback through the real queue: turn stored → Celery worker assesses → pushed to the session group."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from feedback.models import Assessment
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

