"""Worker heartbeat: each Celery worker writes a timestamp every few seconds so
that /healthz can tell a stopped worker within WORKER_HEARTBEAT_STALE_SECONDS.

A row in the database works with every broker (the SQLite transport has no
broadcast for `celery inspect ping`)."""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_ready, worker_shutdown

logger = logging.getLogger(__name__)
_stop = threading.Event()


def worker_heartbeat_beat(*, hostname: str, queues: str) -> None:
    from django.db import close_old_connections
    from django.utils import timezone

    from trainer_app.models import WorkerHeartbeat

    close_old_connections()
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"last_seen": timezone.now(), "queues": queues[:255]}
    )


def _beat_forever(hostname: str, queues: str, interval: float) -> None:
    while not _stop.is_set():
        try:
            worker_heartbeat_beat(hostname=hostname, queues=queues)
        except Exception:  # the database may be briefly locked or restarting
            logger.exception("worker heartbeat failed")
        _stop.wait(interval)


@worker_ready.connect
def _start_heartbeat(sender=None, **kwargs) -> None:
    from django.conf import settings

    hostname = getattr(sender, "hostname", "worker")
    queues = ",".join(sorted(q.name for q in sender.app.amqp.queues.consume_from.values())) if sender else ""
    _stop.clear()
    threading.Thread(
        target=_beat_forever, args=(hostname, queues, settings.WORKER_HEARTBEAT_SECONDS), daemon=True,
        name="worker-heartbeat",
    ).start()


@worker_shutdown.connect
def _stop_heartbeat(sender=None, **kwargs) -> None:
    _stop.set()
    try:
        from trainer_app.models import WorkerHeartbeat

        WorkerHeartbeat.objects.filter(hostname=getattr(sender, "hostname", "")).delete()
    except Exception:
        logger.exception("could not remove the worker heartbeat")
