"""A guard for a crash in Celery 5.7's reconnect cleanup with the Redis broker.

Found by the fault suite (Redis SIGKILLed while a worker held an unacknowledged message; 2 of
~8 kills): on a lost connection Celery 5.7 collects the connection (its transport's ``client``
becomes None) and then closes it; closing restores the unacknowledged messages, which needs a
new Redis pool, whose parameters are read from that ``client``: ``AttributeError: 'NoneType'
object has no attribute 'hostname'``. The AttributeError is not a connection error, so the
worker stops for good ("Unrecoverable error") instead of reconnecting.

With the connection already released the restore is skipped: the messages stay in the broker's
unacked set, which the broker restores after its visibility timeout, and every task here is
idempotent and also re-found by the database sweeps (live assessments, voice clips, recording
stages). Everything else is left to kombu."""

from __future__ import annotations

import logging

from kombu.transport import redis as kombu_redis

logger = logging.getLogger(__name__)

_original_restore_unacked = kombu_redis.QoS.restore_unacked


def _connection_released(qos) -> bool:
    channel = qos.channel
    transport = getattr(channel, "connection", None)
    return getattr(channel, "_pool", None) is None and getattr(transport, "client", None) is None


def _restore_unacked(self, client=None):
    if client is None and _connection_released(self):
        logger.warning("broker connection already released: %d unacknowledged message(s) left to the broker's "
                       "visibility timeout and the database sweeps", len(self._delivered))
        return None
    return _original_restore_unacked(self, client)


kombu_redis.QoS.restore_unacked = _restore_unacked
