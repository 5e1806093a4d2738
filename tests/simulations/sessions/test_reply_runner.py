"""The reply runner: one reply per message in order (or a visible refusal), admission control
under overload, cancellation that ends the generation's thread, and access withdrawn live."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.test import override_settings

from simulations.models import PracticeSession, Turn
from simulations.services import persona_replies
from simulations.services.generations import generation_live
from simulations.services.reply_runner import reply_runner, reply_runner_stop
from tests.simulations.sessions.helpers import communicator_for, receive_until, session_setup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup(transactional_db):
    cache.clear()
    yield session_setup()
    cache.clear()


class _SlowEngine:
    name = "slow-test"
    production = False

    def __init__(self, words: int = 20, delay_s: float = 0.05, hold: bool = False):
        self.words, self.delay_s = words, delay_s
        self.release = threading.Event()  # with ``hold``, the reply waits after its first word until set
        if not hold:
            self.release.set()

    def reply_stream(self, **kwargs):
        for i in range(self.words):
            yield f"word{i} "
            self.release.wait(timeout=60)
            time.sleep(self.delay_s)


async def _connected(user, session_id):
    communicator = await communicator_for(user, session_id)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def _turns(session_id):
    return list(Turn.objects.filter(session_id=session_id).order_by("index").values_list("speaker", "text", "reply_to_id"))


async def test_a_second_message_during_a_reply_is_refused_visibly_then_answered_in_order(setup, monkeypatch):
    engine = _SlowEngine(hold=True)
    monkeypatch.setattr(persona_replies, "persona_engine_for", lambda **kwargs: engine)
    session_id = setup["session"].pk
    page = await _connected(setup["trainee"], session_id)
    await page.send_json_to({"type": "turn", "text": "First question?", "client_id": "m-1"})
    await receive_until(page, "reply-chunk", timeout=90)  # the process's first reply loads the models
    await page.send_json_to({"type": "turn", "text": "Second question?", "client_id": "m-2"})
    messages = await receive_until(page, "error")
    error = messages[-1]
    assert error["code"] == "busy" and error["client_id"] == "m-2" and "still answering" in error["message"]
    assert 'data-testid="session-notice"' in error["html"]
    engine.release.set()
    messages = await receive_until(page, "reply-done")  # the first reply carries on
    first_turn = next(m for m in messages if m.get("kind") == "reply-done")["data"]["reply_for"]
    await page.send_json_to({"type": "turn", "text": "Second question?", "client_id": "m-2"})
    messages = await receive_until(page, "reply-done")
    second_turn = messages[-1]["data"]["reply_for"]
    turns = await database_sync_to_async(_turns)(session_id)
    assert [(s, r) for s, _, r in turns] == [
        ("persona", None), ("trainee", None), ("persona", first_turn), ("trainee", None), ("persona", second_turn),
    ]
    assert [t for s, t, _ in turns if s == "trainee"] == ["First question?", "Second question?"]
    await page.disconnect()


async def test_over_capacity_a_turn_is_refused_with_a_visible_message_and_nothing_is_stored(setup):
    page = await _connected(setup["trainee"], setup["session"].pk)
    with override_settings(REPLY_RUNNER_QUEUE_MAX=0):  # every generation thread "busy"
        await page.send_json_to({"type": "turn", "text": "Are you there?", "client_id": "o-1"})
        error = (await receive_until(page, "error"))[-1]
    assert error["code"] == "overloaded" and "needs a moment" in error["message"] and error["client_id"] == "o-1"
    assert 'data-testid="session-notice"' in error["html"]
    assert await database_sync_to_async(Turn.objects.filter(speaker="trainee").count)() == 0
    await page.send_json_to({"type": "turn", "text": "Are you there?", "client_id": "o-1"})  # capacity is back
    await receive_until(page, "reply-done", timeout=90)
    await page.disconnect()


def test_recent_start_delays_need_a_few_samples_and_forget_old_ones(monkeypatch):
    from simulations.services import reply_runner as runner_module

    clock = [100.0]
    monkeypatch.setattr(runner_module.time, "monotonic", lambda: clock[0])
    delays = runner_module._RecentLatency(min_samples=3)
    delays.record(4.0)
    delays.record(0.1)
    assert delays.median_s(window_s=5.0) is None  # two turns say nothing yet
    delays.record(3.0)
    assert delays.median_s(window_s=5.0) == 3.0
    assert delays.quantile_s(0.9, window_s=5.0) == 4.0 and delays.quantile_s(0.0, window_s=5.0) == 0.1
    clock[0] += 5.1  # every sample is older than the window
    assert delays.median_s(window_s=5.0) is None


@override_settings(REPLY_ADMISSION_MAX_START_S=2.0, REPLY_ADMISSION_START_QUANTILE=0.5, REPLY_ADMISSION_WINDOW_S=5.0)
async def test_replies_starting_late_make_the_runner_refuse_new_turns_until_they_recover(setup, monkeypatch):
    """A saturated CPU slows every running reply with nothing queued: the delay to reply start is the signal."""
    runner = reply_runner()
    runner.start_delays._samples.clear()
    for _ in range(5):
        runner.start_delays.record(3.0)  # five recent turns each waited 3 s for their reply to start
    page = await _connected(setup["trainee"], setup["session"].pk)
    await page.send_json_to({"type": "turn", "text": "Hello?", "client_id": "late-1"})
    error = (await receive_until(page, "error"))[-1]
    assert error["code"] == "overloaded" and error["client_id"] == "late-1"
    assert await database_sync_to_async(Turn.objects.filter(speaker="trainee").count)() == 0
    runner.start_delays._samples.clear()  # the window has emptied (nothing admitted meanwhile)
    await page.send_json_to({"type": "turn", "text": "Hello?", "client_id": "late-1"})
    await receive_until(page, "reply-done", timeout=90)
    assert runner.start_delays.median_s(window_s=5.0) is None  # one sample: not enough to judge
    assert len(runner.start_delays._samples) == 1 and runner.start_delays._samples[0][1] < 2.0  # the admitted turn's own
    with override_settings(REPLY_ADMISSION_WINDOW_S=0):  # the check can be turned off
        for _ in range(5):
            runner.start_delays.record(3.0)
        assert runner.admission_refusal() is None
    runner.start_delays._samples.clear()
    await page.disconnect()


@override_settings(REPLY_ADMISSION_MAX_WAIT_S=2.0, REPLY_ADMISSION_WINDOW_S=5.0, REPLY_ADMISSION_MAX_START_S=0.25,
                   REPLY_ADMISSION_START_QUANTILE=0.9)
def test_the_start_delay_budget_is_its_own_and_judges_the_slow_tail():
    """Queued work may wait up to MAX_WAIT_S, but a reply must start within MAX_START_S for most turns."""
    runner = reply_runner()
    runner.start_delays._samples.clear()
    try:
        for delay in [0.05] * 8 + [0.2]:
            runner.start_delays.record(delay)
        assert runner.admission_refusal() is None  # nine of ten start fast enough
        runner.start_delays.record(0.4)
        runner.start_delays.record(0.4)  # the slowest tenth now starts after the 0.25 s budget
        assert runner.admission_refusal().code == "overloaded"
        with override_settings(REPLY_ADMISSION_START_QUANTILE=0.5):  # the median still starts in time
            assert runner.admission_refusal() is None
    finally:
        runner.start_delays._samples.clear()


@override_settings(REPLY_ADMISSION_MAX_STARTING=1)
async def test_turns_still_on_their_way_to_a_reply_start_cap_admission_and_are_uncounted_after(setup, monkeypatch):
    """A concurrency limit engages at the first burst, before any reply has started late."""
    from simulations.services import reply_runner as runner_module

    gate = threading.Event()
    ready = runner_module.warm_up.persona_ready
    monkeypatch.setattr(runner_module.warm_up, "persona_ready", lambda **kw: (gate.wait(timeout=60), ready(**kw)))
    runner = reply_runner()
    runner.start_delays._samples.clear()
    page = await _connected(setup["trainee"], setup["session"].pk)
    await page.send_json_to({"type": "turn", "text": "First, please.", "client_id": "s-1"})
    await receive_until(page, "turn")  # stored; its reply waits before starting
    assert runner.starting == 1
    await page.send_json_to({"type": "turn", "text": "Second.", "client_id": "s-2"})
    error = (await receive_until(page, "error"))[-1]
    assert error["code"] == "overloaded" and error["client_id"] == "s-2"  # refused before being stored
    assert await database_sync_to_async(Turn.objects.filter(speaker="trainee").count)() == 1
    gate.set()
    await receive_until(page, "reply-done", timeout=90)
    assert runner.starting == 0  # its reply started: no longer counted
    monkeypatch.setattr(runner_module, "_turn_store", lambda **kw: (_ for _ in ()).throw(
        runner_module.TurnRejected("unavailable", runner_module.UNAVAILABLE_MESSAGE)))
    await page.send_json_to({"type": "turn", "text": "Lost?", "client_id": "s-3"})
    assert (await receive_until(page, "error"))[-1]["code"] == "unavailable"
    assert runner.starting == 0  # a turn that was never stored is uncounted too
    await page.disconnect()


async def test_cancelling_the_runner_ends_the_generation_thread_and_releases_the_claim(setup, monkeypatch):
    engine = _SlowEngine(words=400)  # 20 s if nothing stopped it
    monkeypatch.setattr(persona_replies, "persona_engine_for", lambda **kwargs: engine)
    session_id = setup["session"].pk
    page = await _connected(setup["trainee"], session_id)
    await page.send_json_to({"type": "turn", "text": "Tell me everything.", "client_id": "c-1"})
    await receive_until(page, "reply-chunk", timeout=90)
    tasks = set(reply_runner()._tasks)
    assert tasks
    reply_runner_stop()  # the lifespan shutdown hook
    await asyncio.wait(tasks, timeout=5)
    assert all(t.done() for t in tasks)
    deadline = time.monotonic() + 5
    while generation_live(session_id=session_id) is not None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert generation_live(session_id=session_id) is None  # the thread stopped at its next chunk
    session = await database_sync_to_async(PracticeSession.objects.get)(pk=session_id)
    assert session.generating_for_turn_id is None  # released before it left the registry
    await page.disconnect()


async def _closed_with(communicator, code: int, timeout: float = 10.0) -> list[dict]:
    """Frames received until the socket is closed with ``code``."""
    seen = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"not closed within {timeout} s; got {seen}"
        output = await communicator.receive_output(timeout=left)
        if output["type"] == "websocket.close":
            assert output.get("code") == code
            return seen
        seen.append(output)


async def test_an_instructor_removed_from_the_cohort_loses_the_open_socket_within_seconds(setup):
    from trainer_app.models import Cohort

    session_id = setup["session"].pk
    watcher = await _connected(setup["instructor"], session_id)
    assert await watcher.receive_nothing(timeout=0.3)

    def remove():
        Cohort.objects.get(owner=setup["instructor"]).members.remove(setup["trainee"])

    await database_sync_to_async(remove)()
    frames = await _closed_with(watcher, 4403)
    assert any("no longer have access" in f.get("text", "") for f in frames)


async def test_a_watcher_frame_rechecks_access(setup):
    from trainer_app.models import Cohort

    session_id = setup["session"].pk
    watcher = await _connected(setup["instructor"], session_id)

    def remove_quietly():  # as a raw UPDATE would: no signal
        Cohort.members.through.objects.filter(user_id=setup["trainee"].pk).delete()

    await database_sync_to_async(remove_quietly)()
    await watcher.send_json_to({"type": "turn", "text": "hello", "client_id": "w-1"})
    frames = await _closed_with(watcher, 4403)
    assert any("no longer have access" in f.get("text", "") for f in frames)


async def test_a_burst_of_chunks_wakes_the_event_loop_once_and_reaches_the_group_in_order_and_batched():
    """A scripted reply pushes its ~60 words at once: they cross to the event loop with one wake-up
    (it was one per word), in order, and leave as one chunk frame."""
    from simulations.services import session_events
    from simulations.services.reply_runner import _GroupPusher

    loop = asyncio.get_running_loop()
    wakes, frames = [], []

    class CountingLoop:  # the real loop, counting the cross-thread wake-ups
        def call_soon_threadsafe(self, callback, *args):
            wakes.append(callback)
            return loop.call_soon_threadsafe(callback, *args)

        def time(self):
            return loop.time()

    class Layer:
        async def group_send(self, group, message):
            frames.append(message)

    pusher = _GroupPusher(loop=CountingLoop(), layer=Layer(), group="practice-session-1", batch_s=0.05)
    sender = asyncio.create_task(pusher.run())
    words = [f"word{i} " for i in range(60)]
    pusher.push(session_events.reply_start_event(trainee_turn_id=1))
    offset = 0
    for word in words:  # no await in between: nothing can cross before the burst is over
        pusher.push(session_events.reply_chunk_event(trainee_turn_id=1, text=word, offset=offset))
        offset += len(word)
    pusher.push(session_events.reply_cancelled_event(trainee_turn_id=1))
    await asyncio.sleep(0.2)
    pusher.close()
    await asyncio.wait_for(sender, timeout=5)

    assert len(wakes) == 1
    # Everything that arrived together goes out together: one chunk frame with every word.
    assert [f["kind"] for f in frames] == ["reply-start", "reply-chunk", "reply-cancelled"]
    assert frames[1]["data"] == {"reply_for": 1, "offset": 0, "text": "".join(words)}


async def test_chunks_pushed_from_a_generation_thread_all_arrive_in_order():
    from simulations.services import session_events
    from simulations.services.reply_runner import _GroupPusher

    frames = []

    class Layer:
        async def group_send(self, group, message):
            frames.append(message)

    pusher = _GroupPusher(loop=asyncio.get_running_loop(), layer=Layer(), group="practice-session-1", batch_s=0.001)
    sender = asyncio.create_task(pusher.run())

    def generate():
        offset = 0
        for i in range(500):
            text = f"w{i} "
            pusher.push(session_events.reply_chunk_event(trainee_turn_id=1, text=text, offset=offset))
            offset += len(text)
            if i % 50 == 0:
                time.sleep(0.002)

    await asyncio.to_thread(generate)
    pusher.close()
    await asyncio.wait_for(sender, timeout=5)
    assert "".join(f["data"]["text"] for f in frames) == "".join(f"w{i} " for i in range(500))
    offsets = [f["data"]["offset"] for f in frames]
    assert offsets == sorted(offsets) and offsets[0] == 0
