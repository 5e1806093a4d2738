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
