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
@pytest.mark.parametrize("choice", ["pubsub", "list"])
async def test_redis_channel_layer_waits_out_an_idle_channel(choice):
    """channels_redis's list layer blocks 5 s per BZPOPMIN; redis-py 8's default socket timeout is also 5 s, so
    without a longer one a receive on a channel idle for over 5 s could fail with a redis TimeoutError. The
    pub/sub layer (the default) must wait out the same idle stretch on its subscriber connection."""
    from channels.layers import ChannelLayerManager
    from django.conf import settings
    from django.test import override_settings

    with override_settings(CHANNEL_LAYERS={"default": settings.CHANNEL_LAYER_CHOICES[choice]}):
        layer = ChannelLayerManager().make_backend("default")
    idle_s = 11.0  # two of the list layer's 5 s pops, and twice redis-py's default socket timeout
    if choice == "list":
        assert layer.hosts[0]["socket_timeout"] > layer.brpop_timeout
    else:
        assert settings.CHANNEL_LAYER_CHOICES[choice]["CONFIG"]["hosts"][0]["socket_timeout"] > 5
    channel = await layer.new_channel()

    async def send_later():
        await asyncio.sleep(idle_s)
        await layer.send(channel, {"type": "late.message"})

    sender = asyncio.create_task(send_later())
    message = await asyncio.wait_for(layer.receive(channel), timeout=60)
    await sender
    assert message["type"] == "late.message"
    if choice == "pubsub":  # closes its subscriber connection (the list layer's flush would empty the shared prefix)
        await layer.flush()
