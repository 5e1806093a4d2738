"""Celery 5.7's reconnect cleanup restores unacked messages on a connection it has already released:
the guard skips that restore instead of letting an AttributeError stop the worker for good."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from kombu import Connection

import trainer_app.broker_redis_guard as guard

pytestmark = pytest.mark.production


def test_restoring_unacked_messages_on_a_released_connection_is_skipped_not_a_crash(caplog):
    connection = Connection(settings.CELERY_BROKER_URL)
    channel = connection.channel()
    qos = channel.qos
    qos._delivered["tag-1"] = True  # one message held, unacknowledged
    channel._pool, channel.connection.client = None, None  # as Celery 5.7's collect() leaves them
    with pytest.raises(AttributeError):  # what kombu does on its own: the worker's "Unrecoverable error"
        guard._original_restore_unacked(qos)
    with caplog.at_level(logging.WARNING, logger="trainer_app.broker_redis_guard"):
        assert qos.restore_unacked() is None
    assert "1 unacknowledged message(s) left" in caplog.text
    qos._delivered.clear()  # nothing for kombu to restore again at exit


def test_restoring_on_a_live_connection_still_restores():
    connection = Connection(settings.CELERY_BROKER_URL)
    channel = connection.channel()
    assert not guard._connection_released(channel.qos)
    channel.qos.restore_unacked()  # nothing delivered: a no-op through kombu's own code
    connection.release()
