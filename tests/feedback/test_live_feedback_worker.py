"""Live feedback through the real queue: turn stored → Celery worker assesses → pushed to the session group."""

from __future__ import annotations

import asyncio
import json
import os
import time

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


def test_turns_are_assessed_and_pushed_by_the_worker(dear_man, celery_worker_process, capsys):
    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=["dear-man"])
    layer = get_channel_layer()

    async def run() -> list[tuple[int, float, dict]]:
        channel = await layer.new_channel()
        await layer.group_add(session_group_name(session.pk), channel)
        received = []
        for text in UTTERANCES:
            turn_id = await sync_to_async(_store)(session, text)
            started = time.perf_counter()
            message = await asyncio.wait_for(layer.receive(channel), timeout=120)
            received.append((turn_id, 1000 * (time.perf_counter() - started), message))
        return received

    received = async_to_sync(run)()
    for turn_id, _, message in received:
        assert message["type"] == "session.push" and message["kind"] == "feedback"
        assert message["data"]["turn_id"] == turn_id
        assert message["html"].count('data-testid="feedback-item"') == 7
        assessment = Assessment.objects.get(turn_id=turn_id, framework_slug="dear-man")
        assert assessment.items.count() == 7 and assessment.pushed_at is not None

    measured = received[1:]  # the first may wait for the worker's warm-up
    latencies = [ms for _, ms, _ in measured]
    engine = {a.turn_id: a.engine_ms for a in Assessment.objects.filter(turn_id__in=[t for t, _, _ in measured])}
    overheads = [ms - engine[turn_id] for turn_id, ms, _ in measured]  # queue + store + render + channel layer
    figures = {
        "first_ms": round(received[0][1]), "p50_ms": round(_pct(latencies, 0.5)), "p95_ms": round(_pct(latencies, 0.95)),
        "engine_p95_ms": round(_pct(list(engine.values()), 0.95)), "overhead_p95_ms": round(_pct(overheads, 0.95)),
        "n": len(latencies), "load_per_cpu": round(os.getloadavg()[0] / (os.cpu_count() or 1), 2),
    }
    with capsys.disabled():
        print("\nlive feedback latency (turn committed -> push received):", json.dumps(figures))
    # What this pipeline adds to the engine stays small however busy the machine is.
    assert figures["overhead_p95_ms"] <= 300, figures
    # The 1 s budget end to end holds on a machine that is not oversubscribed (the
    # engine's CPU time stretches with load; it is reported above either way).
    if figures["load_per_cpu"] <= 1.0:
        assert figures["p95_ms"] <= 1000, figures


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]
