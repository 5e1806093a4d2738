"""Sync code's async calls (pushes) run on one kept event loop, and a failure there is retried on a fresh one."""

from __future__ import annotations

import asyncio
import shutil
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from simulations.events import session_group_name, session_push
from trainer_app import kept_loop
from trainer_app.kept_loop import kept_loop_run

pytestmark = pytest.mark.timeout(60)


def test_calls_share_one_loop_and_thread_and_return_their_result():
    async def where() -> tuple[int, str]:
        return id(asyncio.get_running_loop()), threading.current_thread().name

    first, second = kept_loop_run(where), kept_loop_run(where)
    assert first == second and first[1] == "kept-event-loop"
    assert kept_loop_run(lambda: asyncio.sleep(0, result=42)) == 42


def test_a_failure_on_the_kept_loop_is_tried_once_more_on_a_fresh_loop():
    loops = []

    async def flaky() -> str:
        loops.append(threading.current_thread().name)
        if len(loops) == 1:
            raise ConnectionError("stale connection")
        return "delivered"

    assert kept_loop_run(flaky) == "delivered"
    assert loops[0] == "kept-event-loop" and loops[1] != "kept-event-loop"

    async def broken() -> None:
        raise ValueError("always")

    with pytest.raises(ValueError, match="always"):  # failing twice: the caller sees the error
        kept_loop_run(broken)


def test_a_timeout_on_the_kept_loop_is_retried_on_a_fresh_loop(monkeypatch):
    calls = []

    async def slow_then_fast() -> str:
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            await asyncio.sleep(5)
        return "late but delivered"

    assert kept_loop_run(slow_then_fast, timeout_s=0.2) == "late but delivered" and len(calls) == 2


def test_refused_from_inside_a_running_loop():
    async def inside() -> None:
        kept_loop_run(lambda: asyncio.sleep(0))

    with pytest.raises(RuntimeError, match="running event loop"):
        asyncio.run(inside())


def test_a_forked_child_gets_its_own_loop(monkeypatch):
    kept_loop_run(lambda: asyncio.sleep(0))
    before = kept_loop._loop
    monkeypatch.setattr(kept_loop, "_loop_pid", -1)  # as in a child: the parent's thread is not there
    kept_loop_run(lambda: asyncio.sleep(0))
    assert kept_loop._loop is not before


@pytest.mark.parametrize("kept", [True, False], ids=["worker", "web"])
def test_session_push_reaches_the_session_group_through_the_channel_layer(settings, tmp_path, monkeypatch, kept):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "trainer_app.channel_layers.SQLiteChannelLayer",
            "CONFIG": {"path": str(tmp_path / "channels.sqlite3"), "poll_interval": 0.005},
        }
    }
    from channels.layers import channel_layers

    monkeypatch.setattr(kept_loop, "_enabled", kept)
    ran_on = []
    real_run = kept_loop.kept_loop_run
    monkeypatch.setattr(kept_loop, "kept_loop_run", lambda call, **kw: ran_on.append(1) or real_run(call, **kw))
    channel_layers.backends.pop("default", None)
    listener = get_channel_layer()

    async def join() -> str:
        channel = await listener.new_channel()
        await listener.group_add(session_group_name(7), channel)
        return channel

    channel = async_to_sync(join)()
    for n in range(3):  # several pushes on the same kept loop
        session_push(session_id=7, html=f"<p>{n}</p>", kind="feedback", data={"n": n})

    async def receive_all() -> list[dict]:
        return [await asyncio.wait_for(listener.receive(channel), 5) for _ in range(3)]

    received = async_to_sync(receive_all)()
    assert [m["data"]["n"] for m in received] == [0, 1, 2]
    assert all(m["type"] == "session.push" and m["kind"] == "feedback" for m in received)
    assert len(ran_on) == (3 if kept else 0)  # only a worker (kept_loop_enable at start-up) uses the kept loop
    channel_layers.backends.pop("default", None)


@pytest.mark.production
def test_a_push_after_redis_restarted_is_delivered(settings, tmp_path, monkeypatch):
    """The kept loop's Redis connection is dead after a restart: that push is sent again on a fresh
    loop, and the next one goes through the kept loop, reconnected."""
    import time

    import redis

    from tests.faults.stack import REDIS_SERVER, RedisServer
    from tests.support import processes

    if not shutil.which(REDIS_SERVER):
        pytest.skip(f"needs redis-server ({REDIS_SERVER})")
    server = RedisServer(port=processes.free_port(), log_path=tmp_path / "redis.log")
    server.start()
    try:
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [server.url]}}
        }
        from channels.layers import channel_layers

        channel_layers.backends.pop("default", None)
        monkeypatch.setattr(kept_loop, "_enabled", True)
        monkeypatch.setattr(kept_loop, "_loop", None)  # a loop of this test's own, connected to this server

        def published(tag: str) -> int:
            watcher = redis.Redis.from_url(server.url).pubsub()
            watcher.psubscribe("*")
            time.sleep(0.2)
            session_push(session_id=3, html=tag, kind="feedback")
            seen, deadline = 0, time.time() + 2
            while time.time() < deadline:
                message = watcher.get_message(timeout=0.1)
                seen += bool(message and message["type"] == "pmessage")
            watcher.close()
            return seen

        assert published("before") == 1
        server.kill()
        server.start()
        assert published("after the restart") >= 1  # on a fresh loop (the kept connection was reset)
        assert published("and then") == 1  # the kept loop again, reconnected
    finally:
        server.stop()
        from channels.layers import channel_layers

        channel_layers.backends.pop("default", None)
