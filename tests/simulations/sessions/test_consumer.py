"""The practice session websocket: who may join, validation, turns and replies."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.test import override_settings

from simulations.events import turn_stored
from simulations.models import PracticeSession, Turn
from simulations.personas.engines.base import PersonaEngineUnavailable
from simulations.services import persona_replies
from simulations.services.session_end import practice_session_end
from tests.simulations.sessions.helpers import communicator_for, receive_until, session_setup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def setup(transactional_db):
    return session_setup()


async def _connected(user, session_id):
    communicator = await communicator_for(user, session_id)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def _turns(session_id):
    return list(Turn.objects.filter(session_id=session_id).order_by("index").values_list("index", "speaker", "text", "reply_to_id"))


@pytest.mark.parametrize("who", ["anonymous", "outsider"])
async def test_refuses_anonymous_and_other_trainees(setup, who):
    user = None if who == "anonymous" else setup["outsider"]
    communicator = await communicator_for(user, setup["session"].pk)
    connected, code = await communicator.connect()
    assert not connected
    assert code in (4401, 4403)


async def test_refuses_a_foreign_origin(setup):
    communicator = await communicator_for(setup["trainee"], setup["session"].pk, origin=(b"origin", b"http://evil.example.com"))
    connected, _ = await communicator.connect()
    assert not connected


async def test_refuses_a_session_that_does_not_exist(setup):
    communicator = await communicator_for(setup["trainee"], 999999)
    connected, _ = await communicator.connect()
    assert not connected


async def test_trainee_turn_is_stored_before_the_reply_and_the_reply_streams(setup):
    session_id = setup["session"].pk
    seen_at_announce = []

    def on_turn_stored(sender, turn_id, session_id, **kwargs):
        seen_at_announce.append((turn_id, Turn.objects.filter(session_id=session_id, speaker="persona", index__gt=0).count()))

    turn_stored.connect(on_turn_stored)
    try:
        communicator = await _connected(setup["trainee"], session_id)
        await communicator.send_json_to({"type": "turn", "text": "That sounds really hard. How have you been sleeping?", "client_id": "c-1"})
        messages = await receive_until(communicator, "reply-done")
    finally:
        turn_stored.disconnect(on_turn_stored)
    kinds = [m["kind"] for m in messages]
    assert kinds[0] == "turn" and kinds[1] == "reply-start" and kinds[-1] == "reply-done"
    assert "reply-chunk" in kinds
    turns = await database_sync_to_async(_turns)(session_id)
    assert [(i, s) for i, s, _, _ in turns] == [(0, "persona"), (1, "trainee"), (2, "persona")]
    trainee_turn_id = messages[0]["data"]["turn_id"]
    # announced (and committed) while no reply existed yet
    assert seen_at_announce == [(trainee_turn_id, 0)]
    assert turns[2][3] == trainee_turn_id
    streamed = "".join(m["data"]["text"] for m in messages if m["kind"] == "reply-chunk")
    assert streamed.strip() == turns[2][2] == messages[-1]["data"]["text"]
    assert f'id="reply-{trainee_turn_id}"' in messages[-1]["html"] and 'hx-swap-oob="outerHTML"' in messages[-1]["html"]
    trainee_turn = await database_sync_to_async(Turn.objects.get)(pk=trainee_turn_id)
    assert {"trust", "level", "mood"} <= set(trainee_turn.state_after)
    session = await database_sync_to_async(PracticeSession.objects.get)(pk=session_id)
    assert session.generating_for_turn_id is None and session.persona_state == trainee_turn.state_after
    await communicator.disconnect()


async def test_frames_and_pushes_reach_their_handlers_without_a_hop_to_a_thread_each(setup, monkeypatch):
    """Channels closed stale database connections on its sync thread before every handler (a thread
    hop per frame and per push); this consumer opens none there, so its dispatch does not."""
    import channels.consumer

    hops = []

    async def counted():
        hops.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    communicator = await _connected(setup["trainee"], setup["session"].pk)
    await communicator.send_json_to({"type": "turn", "text": "How have you been sleeping?", "client_id": "c-hop"})
    messages = await receive_until(communicator, "reply-done")
    assert [m["kind"] for m in messages][:2] == ["turn", "reply-start"]
    assert hops == []
    await communicator.disconnect()


async def test_a_resend_with_the_same_client_id_is_stored_once_and_answered_once(setup):
    session_id = setup["session"].pk
    communicator = await _connected(setup["trainee"], session_id)
    for _ in range(2):
        await communicator.send_json_to({"type": "turn", "text": "How are you feeling today?", "client_id": "same-id"})
    await receive_until(communicator, "reply-done")
    await asyncio.sleep(0.5)  # give a (wrong) second generation time to show up
    while not await communicator.receive_nothing(timeout=0.3):
        await communicator.receive_json_from()
    turns = await database_sync_to_async(_turns)(session_id)
    assert [s for _, s, _, _ in turns] == ["persona", "trainee", "persona"]
    await communicator.disconnect()


async def test_a_resend_of_a_turn_answered_while_the_page_was_away_brings_the_reply(setup):
    """The socket dropped (Redis restarted) after the turn was stored: the page missed the echo
    and the reply, and resends the turn from its outbox when it reconnects."""
    session_id = setup["session"].pk
    first = await _connected(setup["trainee"], session_id)
    await first.send_json_to({"type": "turn", "text": "How are you feeling today?", "client_id": "away-1"})
    done = (await receive_until(first, "reply-done"))[-1]
    await first.disconnect()
    again = await _connected(setup["trainee"], session_id)
    await again.send_json_to({"type": "turn", "text": "How are you feeling today?", "client_id": "away-1"})
    messages = await receive_until(again, "reply-done")
    assert [m["kind"] for m in messages] == ["turn", "reply-done"]
    assert messages[-1]["data"]["turn_id"] == done["data"]["turn_id"]  # the stored reply, not a new one
    turns = await database_sync_to_async(_turns)(session_id)
    assert [s for _, s, _, _ in turns] == ["persona", "trainee", "persona"]
    await again.disconnect()


async def test_instructor_watches_read_only(setup):
    session_id = setup["session"].pk
    watcher = await _connected(setup["instructor"], session_id)
    await watcher.send_json_to({"type": "turn", "text": "hello", "client_id": "i-1"})
    error = await watcher.receive_json_from(timeout=10)
    assert error["type"] == "error" and error["code"] == "read-only"
    trainee = await _connected(setup["trainee"], session_id)
    await trainee.send_json_to({"type": "turn", "text": "What brings you here today?", "client_id": "t-1"})
    seen = await receive_until(watcher, "reply-done")
    assert seen[0]["kind"] == "turn"
    assert [s for _, s, _, _ in await database_sync_to_async(_turns)(session_id)] == ["persona", "trainee", "persona"]
    await trainee.disconnect()
    await watcher.disconnect()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"type": "turn", "text": "x" * 2001, "client_id": "long"}, "too-long"),
        ({"type": "shout", "text": "hi", "client_id": "t"}, "bad-type"),
        ({"type": "turn", "text": "", "client_id": "empty"}, "invalid"),
        ({"type": "turn", "text": "hi", "client_id": "bad id with spaces"}, "invalid"),
        ({"type": "turn", "text": 42, "client_id": "num"}, "invalid"),
    ],
)
async def test_invalid_messages_get_a_clear_error_and_store_nothing(setup, payload, code):
    communicator = await _connected(setup["trainee"], setup["session"].pk)
    await communicator.send_json_to(payload)
    error = await communicator.receive_json_from(timeout=10)
    assert error["type"] == "error" and error["code"] == code and error["message"]
    assert 'data-testid="session-notice"' in error["html"]
    assert await database_sync_to_async(Turn.objects.filter(speaker="trainee").count)() == 0
    await communicator.disconnect()


async def test_a_list_instead_of_an_object_is_refused(setup):
    communicator = await _connected(setup["trainee"], setup["session"].pk)
    await communicator.send_json_to(["turn", "hi"])
    error = await communicator.receive_json_from(timeout=10)
    assert error["code"] == "bad-type"
    await communicator.disconnect()


async def test_a_database_error_while_storing_a_turn_is_refused_visibly_and_the_socket_stays(setup, monkeypatch):
    """(tests/faults/test_database_dropped.py drops a real PostgreSQL connection mid-transaction.)"""
    from django.db import OperationalError

    from simulations.services import reply_runner

    def dropped(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(reply_runner, "trainee_turn_submit", dropped)
    communicator = await _connected(setup["trainee"], setup["session"].pk)
    await communicator.send_json_to({"type": "turn", "text": "How are you?", "client_id": "db-1"})
    error = await communicator.receive_json_from(timeout=10)
    assert error["type"] == "error" and error["code"] == "unavailable" and error["client_id"] == "db-1"
    assert "send it again" in error["message"] and 'data-testid="session-notice"' in error["html"]
    monkeypatch.undo()
    await communicator.send_json_to({"type": "turn", "text": "How are you?", "client_id": "db-2"})
    await receive_until(communicator, "reply-done")
    assert await database_sync_to_async(lambda: list(Turn.objects.filter(speaker="trainee").values_list("client_id", flat=True)))() == ["db-2"]
    await communicator.disconnect()


@override_settings(CHAT_RATE_LIMIT_PER_MINUTE=2)
async def test_rate_limit_holds_across_connections(setup):
    session_id = setup["session"].pk
    first = await _connected(setup["trainee"], session_id)
    await first.send_json_to({"type": "turn", "text": "How are you?", "client_id": "r-1"})
    await receive_until(first, "reply-done")
    await first.disconnect()
    second = await _connected(setup["trainee"], session_id)
    await second.send_json_to({"type": "turn", "text": "What happened?", "client_id": "r-2"})
    await receive_until(second, "reply-done")
    await second.send_json_to({"type": "turn", "text": "And then?", "client_id": "r-3"})
    messages = await receive_until(second, "error")
    assert messages[-1]["code"] == "rate-limit" and "too quickly" in messages[-1]["message"]
    assert await database_sync_to_async(Turn.objects.filter(speaker="trainee").count)() == 2
    await second.disconnect()


async def test_reconnect_regenerates_an_interrupted_reply(setup):
    session = setup["session"]

    def interrupted():
        turn = Turn.objects.create(session=session, index=1, speaker="trainee", text="How have you been?", client_id="lost")
        # As left by a process that died mid-generation: claimed, no heartbeat, no reply.
        PracticeSession.objects.filter(pk=session.pk).update(generating_for_turn=turn)
        return turn

    turn = await database_sync_to_async(interrupted)()
    communicator = await _connected(setup["trainee"], session.pk)
    messages = await receive_until(communicator, "reply-done")
    assert messages[-1]["data"]["reply_for"] == turn.pk
    turns = await database_sync_to_async(_turns)(session.pk)
    assert [s for _, s, _, _ in turns] == ["persona", "trainee", "persona"] and turns[2][3] == turn.pk
    await communicator.disconnect()


async def test_a_live_claim_elsewhere_is_not_regenerated(setup):
    session = setup["session"]

    def claimed_elsewhere():
        turn = Turn.objects.create(
            session=session, index=1, speaker="trainee", text="Hi", client_id="x",
            meta={"generation": {"owner": "other-process", "beat": time.time() + 60}},
        )
        PracticeSession.objects.filter(pk=session.pk).update(generating_for_turn=turn)

    await database_sync_to_async(claimed_elsewhere)()
    communicator = await _connected(setup["trainee"], session.pk)
    assert await communicator.receive_nothing(timeout=1.0)
    assert await database_sync_to_async(Turn.objects.filter(speaker="persona", index__gt=0).count)() == 0
    await communicator.disconnect()


class _SlowEngine:
    name = "slow-test"
    production = False

    def __init__(self):
        self.started = threading.Event()

    def reply_stream(self, **kwargs):
        for word in ["I ", "do ", "not ", "know ", "what ", "to ", "say ", "about ", "that ", "really."] * 20:
            self.started.set()
            time.sleep(0.05)
            yield word


async def test_reconnect_joins_a_reply_still_streaming_and_end_cancels_it(setup, monkeypatch):
    engine = _SlowEngine()
    monkeypatch.setattr(persona_replies, "persona_engine_for", lambda **kwargs: engine)
    session_id = setup["session"].pk
    first = await _connected(setup["trainee"], session_id)
    await first.send_json_to({"type": "turn", "text": "Tell me more.", "client_id": "slow-1"})
    await receive_until(first, "reply-chunk")
    await first.disconnect()  # the connection drops mid-reply
    await asyncio.sleep(0.3)
    second = await _connected(setup["trainee"], session_id)
    rejoined = await second.receive_json_from(timeout=10)
    assert rejoined["kind"] == "reply-start" and rejoined["data"]["length"] > 0  # the text so far
    await receive_until(second, "reply-chunk")  # and it keeps streaming to the new socket
    assert await database_sync_to_async(practice_session_end)(session_id=session_id)
    messages = await receive_until(second, "reply-cancelled", timeout=10)
    assert messages[-1]["kind"] == "reply-cancelled"
    await asyncio.sleep(0.3)
    session = await database_sync_to_async(PracticeSession.objects.get)(pk=session_id)
    assert session.status == "ended" and session.generating_for_turn_id is None
    assert await database_sync_to_async(Turn.objects.filter(speaker="persona", index__gt=0).count)() == 0
    await second.send_json_to({"type": "turn", "text": "Hello?", "client_id": "after-end"})
    error = await receive_until(second, "error")
    assert error[-1]["code"] == "ended"
    await second.disconnect()


async def test_engine_unavailable_keeps_the_turn_and_retry_regenerates(setup, monkeypatch):
    class Down:
        name, production = "down", True

        def reply_stream(self, **kwargs):
            raise PersonaEngineUnavailable("persona LLM at http://127.0.0.1:9 unreachable")
            yield  # pragma: no cover

    monkeypatch.setattr(persona_replies, "persona_engine_for", lambda **kwargs: Down())
    session_id = setup["session"].pk
    communicator = await _connected(setup["trainee"], session_id)
    await communicator.send_json_to({"type": "turn", "text": "How are you?", "client_id": "down-1"})
    messages = await receive_until(communicator, "notice")
    notice = messages[-1]
    assert "unreachable right now" in notice["data"]["message"] and "your message is saved" in notice["data"]["message"]
    assert 'data-testid="retry-reply"' in notice["html"]
    assert [s for _, s, _, _ in await database_sync_to_async(_turns)(session_id)] == ["persona", "trainee"]
    session = await database_sync_to_async(PracticeSession.objects.get)(pk=session_id)
    assert session.generating_for_turn_id is None
    monkeypatch.undo()
    await communicator.send_json_to({"type": "retry"})
    await receive_until(communicator, "reply-done")
    assert [s for _, s, _, _ in await database_sync_to_async(_turns)(session_id)] == ["persona", "trainee", "persona"]
    await communicator.disconnect()
