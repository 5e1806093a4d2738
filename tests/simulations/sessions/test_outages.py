"""A practice session while Redis, the broker, the media storage or the database is down: the page
is told so (websocket close 4503 after an ``unavailable`` notice, a 503 notice for a voice upload),
one warning line is logged instead of a traceback per attempt, nothing is half-stored, and it all
works again once the service is back. (tests/faults/ does the same against real processes.)"""

from __future__ import annotations

import asyncio
import errno
import logging
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from simulations import consumers
from simulations.models import PracticeSession, VoiceClip
from simulations.services import turns
from simulations.views.sessions import VOICE_UNAVAILABLE_MESSAGE
from tests.simulations.sessions.helpers import communicator_for, session_setup

REDIS_DOWN = "Error 111 connecting to 127.0.0.1:6379. Connection refused."


def _layer():
    from channels.layers import get_channel_layer

    return get_channel_layer()


def _problems(caplog) -> tuple[list[str], list[str]]:
    """(warning lines, tracebacks and errors) logged. Django's own one line per 5xx answer
    ("Service Unavailable: /path", no traceback) is its access log, not a problem."""
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    errors = [r.getMessage() for r in caplog.records
              if r.exc_info or (r.levelno >= logging.ERROR and r.name != "django.request")]
    return warnings, errors


async def _told_unavailable(communicator) -> None:
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "error" and message["code"] == "unavailable", message
    assert message["message"] == consumers.SERVICE_UNAVAILABLE_MESSAGE
    assert 'data-testid="session-notice"' in message["html"] and "briefly unavailable" in message["html"]
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4503, "reason": "service unavailable"}


# --- the websocket ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_handshake_while_redis_is_down_is_told_unavailable_and_logged_once(monkeypatch, caplog):
    setup = await asyncio.to_thread(session_setup)
    layer = _layer()

    async def group_add_down(group, channel):
        raise RedisConnectionError(REDIS_DOWN)

    caplog.set_level(logging.INFO)
    with monkeypatch.context() as patch:
        patch.setattr(layer, "group_add", group_add_down)
        for _attempt in range(3):  # the page retries: one warning line in all, no traceback
            communicator = await communicator_for(setup["trainee"], setup["session"].pk)
            connected, _ = await communicator.connect(timeout=5)
            assert connected  # accepted so that the page learns why, instead of a failed handshake
            await _told_unavailable(communicator)
            await communicator.wait(timeout=5)
    warnings, errors = _problems(caplog)
    assert errors == []
    assert [w for w in warnings if "service unavailable" in w] == [
        f"practice websocket: service unavailable (ConnectionError: {REDIS_DOWN}); "
        "further such errors are not logged for 60 s"
    ]

    # Redis is back: the next handshake joins the session as usual.
    communicator = await communicator_for(setup["trainee"], setup["session"].pk)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    await communicator.send_json_to({"type": "nonsense"})
    assert (await communicator.receive_json_from(timeout=5))["code"] == "bad-type"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_redis_lost_while_connected_closes_with_4503_instead_of_crashing(monkeypatch, caplog):
    setup = await asyncio.to_thread(session_setup)
    layer = _layer()
    lost = asyncio.Event()

    async def receive_until_lost(channel):
        await lost.wait()
        raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(layer, "receive", receive_until_lost)
    communicator = await communicator_for(setup["trainee"], setup["session"].pk)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    lost.set()
    await _told_unavailable(communicator)
    warnings, errors = _problems(caplog)
    assert errors == [] and len(warnings) == 1


@pytest.mark.django_db(transaction=True)
async def test_a_channel_name_redis_cannot_subscribe_is_told_unavailable(monkeypatch, caplog):
    """channels_redis's pub/sub layer subscribes as it names the socket's channel, before the
    consumer's own code runs: the page is still told why, not failed with an empty handshake."""
    setup = await asyncio.to_thread(session_setup)

    async def new_channel_down(prefix="specific"):
        raise RedisConnectionError(REDIS_DOWN)

    monkeypatch.setattr(_layer(), "new_channel", new_channel_down)
    communicator = await communicator_for(setup["trainee"], setup["session"].pk)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    await _told_unavailable(communicator)
    assert _problems(caplog)[1] == []


@pytest.mark.django_db(transaction=True)
async def test_a_turn_whose_echo_redis_lost_is_stored_and_the_page_told_to_reconnect(monkeypatch, caplog):
    """With the pub/sub layer the socket outlives Redis: the turn is stored, but its echo cannot
    reach the page, so the socket closes with 4503 and the page catches up once it reconnects."""
    from simulations.models import Turn

    setup = await asyncio.to_thread(session_setup)
    layer = _layer()
    communicator = await communicator_for(setup["trainee"], setup["session"].pk)
    connected, _ = await communicator.connect(timeout=5)
    assert connected

    async def group_send_down(group, message):
        raise RedisConnectionError(REDIS_DOWN)

    monkeypatch.setattr(layer, "group_send", group_send_down)
    await communicator.send_json_to({"type": "turn", "text": "I'd like to talk about my hours.", "client_id": "c-9"})
    await _told_unavailable(communicator)
    stored = await asyncio.to_thread(
        lambda: list(Turn.objects.filter(session=setup["session"], speaker="trainee").values_list("client_id", flat=True)))
    assert stored == ["c-9"]  # stored once; the page's resend after reconnecting finds it
    assert _problems(caplog)[1] == []


@pytest.mark.django_db(transaction=True)
async def test_the_database_down_at_the_handshake_is_told_unavailable(monkeypatch, caplog):
    setup = await asyncio.to_thread(session_setup)

    def access_down(**kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(consumers, "practice_session_access", access_down)
    communicator = await communicator_for(setup["trainee"], setup["session"].pk)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    await _told_unavailable(communicator)
    assert _problems(caplog)[1] == []


# --- the rate limit's counter ------------------------------------------------------------


class _CacheDown:
    def __getattr__(self, name):
        def down(*args, **kwargs):
            raise RedisConnectionError(REDIS_DOWN)

        return down


def test_the_rate_limit_counts_in_the_process_while_the_cache_is_down(monkeypatch, settings, caplog):
    settings.CHAT_RATE_LIMIT_PER_MINUTE = 2
    monkeypatch.setattr(turns, "cache", _CacheDown())
    assert [turns.chat_rate_limit_hit(user_id=424242) for _ in range(4)] == [False, False, True, True]
    assert turns.chat_rate_limit_hit(user_id=434343) is False  # per user, still
    warnings, errors = _problems(caplog)
    assert errors == [] and len(warnings) == 1 and "chat rate limit" in warnings[0]


# --- voice uploads ----------------------------------------------------------------------------


@pytest.fixture
def voice(db, settings, tmp_path):
    from django.core.cache import cache

    from trainer_app.privacy.consent import consent_give

    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    setup = session_setup()
    consent_give(user=setup["trainee"], kind="voice_turns")
    return setup


def _upload(client, session, client_id="clip-1"):
    return client.post(
        reverse("simulations:session_voice", args=[session.pk]),
        {"audio": SimpleUploadedFile("turn.webm", b"\x1a\x45\xdf\xa3fake", content_type="audio/webm"),
         "client_id": client_id},
    )


def _media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_voice_upload_with_redis_and_the_broker_down_is_stored_for_the_sweep(
    client, voice, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    from simulations.tasks import voice_transcribe_clip

    def broker_down(**kwargs):
        raise BrokerOperationalError(REDIS_DOWN)

    monkeypatch.setattr(turns, "cache", _CacheDown())  # the rate limit's counter
    monkeypatch.setattr(voice_transcribe_clip, "apply_async", broker_down)
    client.force_login(voice["trainee"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, voice["session"])
    assert response.status_code == 202  # before: a 500 page (the rate limit's cache raised)
    clip = VoiceClip.objects.get()
    assert clip.status == "pending" and clip.lease_until is not None  # the sweep enqueues it after its lease
    warnings, errors = _problems(caplog)
    assert errors == []
    assert any("chat rate limit" in w for w in warnings) and any("could not enqueue" in w for w in warnings)


def test_a_voice_upload_the_storage_refuses_answers_503_and_keeps_nothing(client, voice, monkeypatch, settings):
    storage = VoiceClip._meta.get_field("audio").storage

    def disk_full(name, content, max_length=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "save", disk_full)
    client.force_login(voice["trainee"])
    response = _upload(client, voice["session"])
    assert response.status_code == 503
    html = response.content.decode()
    assert 'data-testid="session-notice"' in html and "could not be saved" in html  # the page's notice slot
    assert "<html" not in html  # a notice for the page's script, not a whole page
    assert not VoiceClip.objects.exists() and _media_files(settings) == []


def test_a_voice_upload_whose_row_fails_leaves_no_file_behind(client, voice, settings, caplog):
    table = VoiceClip._meta.db_table

    def drop_on_clip_insert(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT") and table in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    client.force_login(voice["trainee"])
    with connection.execute_wrapper(drop_on_clip_insert):
        response = _upload(client, voice["session"])
    assert response.status_code == 503 and VOICE_UNAVAILABLE_MESSAGE.split(":")[0] in response.content.decode()
    assert not VoiceClip.objects.exists()
    assert _media_files(settings) == []  # the file written before the INSERT is removed
    assert _problems(caplog)[1] == []

    response = _upload(client, voice["session"])  # the database is back: stored
    assert response.status_code == 202 and VoiceClip.objects.count() == 1 and len(_media_files(settings)) == 1


# --- ending a session -------------------------------------------------------------------------


def test_ending_a_session_while_the_database_is_down_is_a_503_page_and_changes_nothing(client, db, caplog):
    setup = session_setup()
    session = setup["session"]
    client.force_login(setup["trainee"])
    table = PracticeSession._meta.db_table

    def drop_on_session_update(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE") and table in sql:
            raise OperationalError("terminating connection due to administrator command")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(drop_on_session_update):
        response = client.post(reverse("simulations:session_end", args=[session.pk]))
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert 'data-testid="service-unavailable"' in response.content.decode()
    assert PracticeSession.objects.get(pk=session.pk).status == PracticeSession.Status.ACTIVE
    assert _problems(caplog)[1] == []

    response = client.post(reverse("simulations:session_end", args=[session.pk]))
    assert response.status_code == 302
    assert PracticeSession.objects.get(pk=session.pk).status == PracticeSession.Status.ENDED


def test_ending_a_session_while_redis_is_down_ends_it_and_goes_to_the_debrief(client, db, monkeypatch, caplog):
    from simulations.views import sessions as session_views

    setup = session_setup()

    def push_down(**kwargs):
        raise RedisConnectionError(REDIS_DOWN)

    monkeypatch.setattr(session_views, "session_push", push_down)
    client.force_login(setup["trainee"])
    response = client.post(reverse("simulations:session_end", args=[setup["session"].pk]))
    assert response.status_code == 302 and response["Location"].endswith("/debrief/")
    assert PracticeSession.objects.get(pk=setup["session"].pk).status == PracticeSession.Status.ENDED
    assert _problems(caplog)[1] == []


# --- pushes of a reply being generated --------------------------------------------------------


async def test_a_reply_streamed_while_redis_is_down_logs_one_line_not_a_traceback_per_chunk(caplog):
    from simulations.services import reply_runner, session_events

    class LayerDown:
        sent = 0

        async def group_send(self, group, message):
            LayerDown.sent += 1
            raise RedisConnectionError(REDIS_DOWN)

    pusher = reply_runner._GroupPusher(loop=asyncio.get_running_loop(), layer=LayerDown(), group="session-1",
                                       batch_s=0.0)
    sender = asyncio.create_task(pusher.run())
    for offset in range(0, 30, 3):
        pusher.push(session_events.reply_chunk_event(trainee_turn_id=1, text="abc", offset=offset))
        await asyncio.sleep(0.01)
    pusher.close()
    await asyncio.wait_for(sender, timeout=5)  # the stream carries on to its end
    assert LayerDown.sent >= 2
    warnings, errors = _problems(caplog)
    assert errors == [] and len(warnings) == 1 and "session push" in warnings[0]



def test_a_library_logging_each_failed_reconnect_with_a_traceback_logs_one_line_a_minute():
    from trainer_app.outages import OutageLogFilter

    def record(exc: BaseException) -> logging.LogRecord:
        try:
            raise exc
        except BaseException:
            import sys

            return logging.LogRecord("channels_redis.pubsub", logging.ERROR, __file__, 1,
                                     "Unexpected exception in receive task", (), sys.exc_info())

    outage_filter = OutageLogFilter()
    first = record(RedisConnectionError(REDIS_DOWN))
    assert outage_filter.filter(first) is True
    assert first.levelno == logging.WARNING and first.exc_info is None
    assert first.getMessage().startswith("Unexpected exception in receive task: service unavailable (ConnectionError")
    assert [outage_filter.filter(record(RedisConnectionError(REDIS_DOWN))) for _ in range(5)] == [False] * 5
    bug = record(KeyError("a bug"))
    assert outage_filter.filter(bug) is True and bug.exc_info is not None and bug.levelno == logging.ERROR
