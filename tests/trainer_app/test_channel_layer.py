"""The embedded channel layer carries messages between processes through SQLite."""

import asyncio
import subprocess
import sys
import textwrap

import pytest

from trainer_app.channel_layers import SQLiteChannelLayer


@pytest.fixture
def layer(tmp_path):
    return SQLiteChannelLayer(path=str(tmp_path / "channels.sqlite3"), poll_interval=0.005)


async def test_send_and_receive_on_a_plain_channel(layer):
    await layer.send("worker.jobs", {"type": "job", "n": 1})
    assert await asyncio.wait_for(layer.receive("worker.jobs"), 2) == {"type": "job", "n": 1}


async def test_group_send_reaches_every_member_once(layer, tmp_path):
    other_process_layer = SQLiteChannelLayer(path=str(tmp_path / "channels.sqlite3"), poll_interval=0.005)
    a = await layer.new_channel()
    b = await other_process_layer.new_channel()
    await layer.group_add("session-1", a)
    await layer.group_add("session-1", b)
    await other_process_layer.group_send("session-1", {"type": "feedback.item", "text": "hi"})
    assert (await asyncio.wait_for(layer.receive(a), 2))["text"] == "hi"
    assert (await asyncio.wait_for(other_process_layer.receive(b), 2))["text"] == "hi"
    await layer.group_discard("session-1", a)
    await other_process_layer.group_send("session-1", {"type": "feedback.item", "text": "again"})
    assert (await asyncio.wait_for(other_process_layer.receive(b), 2))["text"] == "again"
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(a), 0.3)
    await layer.close()
    await other_process_layer.close()


async def test_message_from_another_os_process_arrives(layer, tmp_path):
    channel = await layer.new_channel()
    await layer.group_add("cross", channel)
    script = textwrap.dedent(f"""
        import asyncio
        from trainer_app.channel_layers import SQLiteChannelLayer
        layer = SQLiteChannelLayer(path={str(tmp_path / "channels.sqlite3")!r})
        asyncio.run(layer.group_send("cross", {{"type": "x", "from": "child", "data": b"\\x00\\x01"}}))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)  # noqa: S603
    message = await asyncio.wait_for(layer.receive(channel), 5)
    assert message == {"type": "x", "from": "child", "data": b"\x00\x01"}
    await layer.close()


async def test_expired_messages_are_not_delivered(tmp_path):
    layer = SQLiteChannelLayer(path=str(tmp_path / "c.sqlite3"), expiry=0)
    await layer.send("plain.expired", {"type": "old"})
    await layer.expire()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive("plain.expired"), 0.3)


async def test_flush_empties_everything(layer):
    await layer.send("plain.a", {"type": "a"})
    await layer.flush()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive("plain.a"), 0.3)


async def test_group_send_reaches_local_members_before_the_database_is_asked(layer, monkeypatch):
    """A reply chunk for a page on this process must not wait for the database lookup of remote members."""
    mine = await layer.new_channel()
    await layer.group_add("session-2", mine)
    asked = asyncio.Event()
    original = layer._group_channels

    def slow_lookup(conn, group):
        # The lookup of remote members; the local member must already have the message by now.
        assert layer._queues[mine].qsize() == 1
        asked.set()
        return original(conn, group)

    monkeypatch.setattr(layer, "_group_channels", slow_lookup)
    await layer.group_send("session-2", {"type": "reply.chunk", "n": 1})
    assert asked.is_set()
    assert await asyncio.wait_for(layer.receive(mine), 1) == {"type": "reply.chunk", "n": 1}


async def test_group_discard_stops_local_delivery_and_order_is_kept(layer):
    a = await layer.new_channel()
    await layer.group_add("session-3", a)
    for n in range(5):
        await layer.group_send("session-3", {"type": "chunk", "n": n})
    assert [(await asyncio.wait_for(layer.receive(a), 1))["n"] for _ in range(5)] == [0, 1, 2, 3, 4]
    await layer.group_discard("session-3", a)
    await layer.group_send("session-3", {"type": "chunk", "n": 99})
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(a), 0.2)


async def test_a_busy_file_moves_the_membership_read_off_the_event_loop_and_the_push_still_arrives(
    tmp_path, monkeypatch
):
    """The layer reads group members on the event loop with a connection that never waits for a lock;
    when the file is busy the read is made on a thread instead, and the message still reaches a
    member in another process."""
    import sqlite3

    path = str(tmp_path / "c.sqlite3")
    here, other = SQLiteChannelLayer(path=path), SQLiteChannelLayer(path=path)
    remote = await other.new_channel()
    await other.group_add("session-9", remote)
    reads_on_the_loop = []

    class Busy:
        def execute(self, *args):
            reads_on_the_loop.append(args[0])
            raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(here, "_loop_conn", lambda: Busy())
    await here.group_send("session-9", {"type": "reply.chunk", "n": 7})
    assert reads_on_the_loop and "channel_group" in reads_on_the_loop[0]
    assert await asyncio.wait_for(other.receive(remote), 2) == {"type": "reply.chunk", "n": 7}
    await here.close()
    await other.close()
