"""Websocket gaps not covered by tests/simulations/sessions/test_consumer.py:
routes that do not exist, missing Origin, instructors of other cohorts, admins, read-only
retry, and an ended session."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from simulations.models import Turn
from simulations.services.session_end import practice_session_end
from tests.security.conftest import world_make
from trainer_app.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
FOREIGN = (b"origin", b"http://evil.example.com")


@pytest.fixture
def w(transactional_db, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    return world_make()


async def _communicator(path: str, user=None, *, origin=ORIGIN) -> WebsocketCommunicator:
    headers = [origin] if origin else []
    if user is not None:
        client = Client()
        await database_sync_to_async(client.force_login)(user)
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def _refused(path: str, user=None, *, origin=ORIGIN) -> bool:
    communicator = await _communicator(path, user, origin=origin)
    connected, _ = await communicator.connect()
    if connected:
        await communicator.disconnect()
    return not connected


def _practice(w) -> str:
    return f"/ws/practice/{w['session'].pk}/"


def _trainee_turns(session_id: int) -> int:
    return Turn.objects.filter(session_id=session_id, speaker=Turn.Speaker.TRAINEE).count()


async def test_unknown_websocket_paths_are_refused(w):
    # The per-user notification socket was removed (nothing sent to it); its path is not routed.
    for path in ("/ws/notifications/", "/ws/anything/"):
        communicator = await _communicator(path, w["trainee"])
        with pytest.raises(ValueError, match="No route found"):
            await communicator.connect()


# --- the practice session ---------------------------------------------------------------


async def test_practice_refuses_missing_origin_and_other_cohorts_instructor(w):
    assert await _refused(_practice(w), w["trainee"], origin=None)
    assert await _refused(_practice(w), w["other_instructor"])
    assert await _refused(_practice(w), w["other_trainee"], origin=FOREIGN)


async def test_admin_watches_read_only_and_read_only_retry_is_refused(w):
    for who in ("admin", "instructor"):
        watcher = await _communicator(_practice(w), w[who])
        assert (await watcher.connect())[0], who
        await watcher.send_json_to({"type": "turn", "text": "Let me answer for them.", "client_id": "x-1"})
        error = await watcher.receive_json_from(timeout=10)
        assert (error["type"], error["code"]) == ("error", "read-only"), who
        await watcher.send_json_to({"type": "retry"})
        error = await watcher.receive_json_from(timeout=10)
        assert (error["type"], error["code"]) == ("error", "read-only"), who
        await watcher.disconnect()
    assert await database_sync_to_async(_trainee_turns)(w["session"].pk) == 1  # the assessed turn from the world


async def test_trainee_cannot_send_to_an_ended_session(w):
    session_id = w["session"].pk
    before = await database_sync_to_async(_trainee_turns)(session_id)
    communicator = await _communicator(_practice(w), w["trainee"])
    assert (await communicator.connect())[0]
    await database_sync_to_async(practice_session_end)(session_id=session_id)
    await communicator.send_json_to({"type": "turn", "text": "Are you still there?", "client_id": "late-1"})
    while True:  # skip any push that was already on its way
        message = await communicator.receive_json_from(timeout=10)
        if message["type"] == "error":
            break
    assert message["code"] == "ended"
    assert await database_sync_to_async(_trainee_turns)(session_id) == before
    await communicator.disconnect()

    # and a fresh connection to the ended session cannot send either
    again = await _communicator(_practice(w), w["trainee"])
    assert (await again.connect())[0]  # reading an ended session is allowed
    await again.send_json_to({"type": "turn", "text": "Hello again", "client_id": "late-2"})
    while True:
        message = await again.receive_json_from(timeout=10)
        if message["type"] == "error":
            break
    assert message["code"] == "ended"
    assert await database_sync_to_async(_trainee_turns)(session_id) == before
    await again.disconnect()


async def test_markup_sent_over_the_socket_comes_back_escaped(w):
    communicator = await _communicator(_practice(w), w["trainee"])
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"type": "<img src=x onerror=alert(1)>", "client_id": "x"})
    error = await communicator.receive_json_from(timeout=10)
    assert error["code"] == "bad-type" and "<img" not in error["html"]
    await communicator.send_json_to({"type": "turn", "text": "<script>alert(1)</script> hi", "client_id": "xss-1"})
    while True:
        message = await communicator.receive_json_from(timeout=30)
        if message.get("kind") == "turn" or message["type"] == "error":
            break
    assert message.get("kind") == "turn", message
    assert "<script>alert(1)</script>" not in message["html"] and "&lt;script&gt;" in message["html"]
    # The reply is generated on a thread that writes to the database: let it finish before the
    # test's teardown empties the tables (PostgreSQL's TRUNCATE deadlocked with it once).
    while message.get("kind") not in ("reply-done", "reply-cancelled"):
        message = await communicator.receive_json_from(timeout=30)
    await communicator.disconnect()


# --- recording progress ------------------------------------------------------------------


@pytest.mark.timeout(60)
async def test_recording_progress_socket_admits_only_those_who_may_see_the_recording(w):
    from feedback.services.recording_pipeline import recording_progress_push

    path = f"/ws/recordings/{w['recording'].pk}/"
    assert await _refused(path)  # anonymous
    assert await _refused(path, w["trainee"])
    assert await _refused(path, w["other_instructor"])
    assert await _refused(path, w["instructor"], origin=FOREIGN)
    assert await _refused(f"/ws/recordings/{w['recording'].pk + 999}/", w["admin"])
    communicator = await _communicator(path, w["instructor"])
    connected, _ = await communicator.connect()
    assert connected
    await database_sync_to_async(recording_progress_push)(recording_id=w["recording"].pk)
    html = await communicator.receive_from(timeout=10)
    assert 'id="recording-progress"' in html and 'data-status="done"' in html
    await communicator.disconnect()
