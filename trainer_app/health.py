"""Health checks: database, broker, worker heartbeat, channel layer and engines."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from trainer_app.engines.status import engine_statuses


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:
        result = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "detail": connection.vendor}


def _broker() -> dict:
    from trainer_app.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        transport = conn.transport_cls
    return {"ok": True, "detail": str(transport)}


def _worker() -> dict:
    from trainer_app.models import WorkerHeartbeat

    stale_after = timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
    alive = WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - stale_after).order_by("-last_seen")
    workers = [{"hostname": w.hostname, "queues": w.queues, "last_seen": w.last_seen.isoformat()} for w in alive]
    if not workers:
        return {"ok": False, "detail": f"no worker heartbeat in the last {stale_after.seconds} s", "workers": []}
    return {"ok": True, "detail": f"{len(workers)} worker(s) alive", "workers": workers}


def _channel_layer() -> dict:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return {"ok": False, "detail": "no channel layer configured"}

    async def round_trip() -> None:
        channel = f"healthz.{uuid.uuid4().hex}"
        receiving = asyncio.ensure_future(layer.receive(channel))
        try:
            # A pub/sub layer delivers only to a receiver already subscribed: the ping is
            # sent again until one arrives (a list-based layer keeps the first; the rest expire unread).
            for _ in range(20):
                await layer.send(channel, {"type": "healthz.ping"})
                done, _ = await asyncio.wait({receiving}, timeout=0.1)
                if done:
                    receiving.result()
                    return
            raise TimeoutError("no ping came back within 2 s")
        finally:
            if not receiving.done():
                receiving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receiving  # lets the layer unsubscribe before the loop ends

    asyncio.run(round_trip())
    return {"ok": True, "detail": type(layer).__name__}


def _redacted(check: dict) -> dict:
    # Raw errors can name hosts and users; only admins see them (on /health/).
    public = {"ok": check["ok"], "ms": check["ms"]}
    if not check["ok"]:
        public["detail"] = check["detail"].split(":", 1)[0] if ":" in check["detail"] else check["detail"]
    if "workers" in check:
        public["workers"] = len(check["workers"])
    return public


def health_report(*, detailed: bool = True) -> dict:
    """Every check, and whether the app is usable (the HTTP status follows it).

    detailed=False (anonymous /healthz) keeps states, engine backends and the
    reason each engine falls back, but not raw error text or worker host names."""
    checks = {
        "database": _timed(_database),
        "broker": _timed(_broker),
        "worker": _timed(_worker),
        "channel_layer": _timed(_channel_layer),
    }
    engines = [status.as_dict() for status in engine_statuses()]
    usable = all(check["ok"] for check in checks.values()) and all(engine["ok"] for engine in engines)
    if not detailed:
        checks = {name: _redacted(check) for name, check in checks.items()}
    report = {
        "status": "ok" if usable else "unavailable",
        "runtime": "production" if settings.PRODUCTION else "embedded",
        "checks": checks,
        "engines": engines,
    }
    if detailed:  # housekeeping is for admins; a late purge does not make the app unusable
        from trainer_app.privacy.retention import retention_purge_health

        report["housekeeping"] = {"retention_purge": retention_purge_health()}
    return report
