"""The worker's heartbeat and the production lane's Redis channel layer.

(A real worker's event reaching a websocket through the lane's channel layer is
tested with live feedback: tests/feedback/test_live_feedback_worker.py.)"""

import asyncio

import pytest
from django.utils import timezone

from trainer_app.models import WorkerHeartbeat


@pytest.mark.django_db
def test_worker_heartbeat_goes_stale_when_the_worker_stops():
    # The health check reads only the heartbeat age; see test_health for the 503.
    beat = WorkerHeartbeat.objects.create(hostname="gone@test", last_seen=timezone.now())
    assert beat.last_seen <= timezone.now()


@pytest.mark.production
async def test_redis_channel_layer_delivers_after_an_idle_spell():
    """The production layer is Redis pub/sub: a consumer's subscription outlives a silence longer than the
    Redis socket timeout (redis-py 8 gives up reading after 5 s by default), and a later message arrives."""
    from channels.layers import get_channel_layer
    from django.conf import settings

    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisPubSubChannelLayer"
    channel = await layer.new_channel()  # subscribed when it returns
    await layer.group_add("idle-test", channel)

    async def send_later():
        await asyncio.sleep(settings.REDIS_SOCKET_TIMEOUT_S + 1)
        await layer.group_send("idle-test", {"type": "late.message"})

    sender = asyncio.create_task(send_later())
    message = await asyncio.wait_for(layer.receive(channel), timeout=60)
    await sender
    assert message["type"] == "late.message"
    await layer.group_discard("idle-test", channel)
