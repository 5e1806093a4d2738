"""A real Celery worker process finishes a task whose event reaches a websocket
client through the lane's channel layer (SQLite embedded; channels_redis in production)."""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import timezone

from tests.factories import UserFactory
from trainer_app.asgi import application
from trainer_app.models import WorkerHeartbeat
from trainer_app.tasks import user_notify

ORIGIN = [(b"origin", b"http://127.0.0.1:8000")]


async def _connect(user):
    from channels.db import database_sync_to_async
    from django.test import Client

    client = Client()
    await database_sync_to_async(client.force_login)(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=[*ORIGIN, (b"cookie", cookie.encode())])
    return communicator


@pytest.mark.django_db(transaction=True)
@pytest.mark.production
async def test_worker_event_reaches_websocket_through_redis(celery_worker_process):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    await _round_trip()


@pytest.mark.django_db(transaction=True)
async def test_worker_event_reaches_websocket(celery_worker_process):
    await _round_trip()


async def _round_trip():
    from channels.db import database_sync_to_async

    user = await database_sync_to_async(UserFactory)(role="trainee")
    communicator = await _connect(user)
    connected, _ = await communicator.connect()
    assert connected
    result = await asyncio.to_thread(lambda: user_notify.delay(user.pk, {"hello": "from the worker"}))
    message = await communicator.receive_json_from(timeout=20)
    assert message == {"type": "notification", "payload": {"hello": "from the worker"}}
    assert result.id
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_websocket_refuses_a_foreign_origin():
    from channels.db import database_sync_to_async

    user = await database_sync_to_async(UserFactory)(role="trainee")
    communicator = await _connect(user)
    communicator.scope["headers"] = [(b"origin", b"http://evil.example.com"), *communicator.scope["headers"][1:]]
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.django_db(transaction=True)
async def test_websocket_refuses_anonymous():
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=ORIGIN)
    connected, code = await communicator.connect()
    assert not connected


@pytest.mark.django_db
def test_worker_heartbeat_goes_stale_when_the_worker_stops():
    # The health check reads only the heartbeat age; see test_health for the 503.
    beat = WorkerHeartbeat.objects.create(hostname="gone@test", last_seen=timezone.now())
    assert beat.last_seen <= timezone.now()


@pytest.mark.production
async def test_redis_channel_layer_waits_out_an_idle_channel():
    """channels_redis blocks 5 s per BZPOPMIN; redis-py 8's default socket timeout is also 5 s, so without a
    longer one a receive on a channel idle for over 5 s could fail with a redis TimeoutError."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    assert layer.hosts[0]["socket_timeout"] > layer.brpop_timeout
    channel = await layer.new_channel()

    async def send_later():
        await asyncio.sleep(layer.brpop_timeout * 2 + 1)  # two idle pops first
        await layer.send(channel, {"type": "late.message"})

    sender = asyncio.create_task(send_later())
    message = await asyncio.wait_for(layer.receive(channel), timeout=60)
    await sender
    assert message["type"] == "late.message"
