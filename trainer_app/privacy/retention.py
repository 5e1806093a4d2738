"""The periodic purge of what has outlived its retention period, recorded for the health page."""

from __future__ import annotations

import logging
import traceback
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from trainer_app.models import RetentionPurge
from trainer_app.privacy.registry import privacy_contributors

logger = logging.getLogger(__name__)


def retention_purge_run() -> RetentionPurge:
    """Run every app's purge; a failing one is recorded and does not stop the others."""
    run = RetentionPurge.objects.create()
    purged: dict[str, int] = {}
    errors = []
    now = timezone.now()
    for contributor in privacy_contributors():
        if contributor.purge is None:
            continue
        try:
            for kind, count in contributor.purge(now=now).items():
                purged[kind] = purged.get(kind, 0) + count
        except Exception:
            logger.exception("retention purge of %s failed", contributor.name)
            errors.append(f"{contributor.name}: {traceback.format_exc(limit=2)}")
    run.purged, run.error, run.finished_at = purged, "\n".join(errors)[:5000], timezone.now()
    run.save(update_fields=["purged", "error", "finished_at"])
    return run


def retention_purge_health() -> dict:
    """For /healthz: when the purge last ran and what it removed; stale if it has not run for two periods."""
    last = RetentionPurge.objects.filter(finished_at__isnull=False).first()
    period = timedelta(seconds=settings.RETENTION_PURGE_INTERVAL_S)
    if last is None:
        return {"ok": True, "detail": "retention purge has not run yet", "last_run": None}
    stale = timezone.now() - last.finished_at > 2 * period
    detail = f"last run {last.finished_at:%Y-%m-%d %H:%M} UTC, removed {last.purged or 'nothing'}"
    if last.error:
        detail += f"; errors: {last.error.splitlines()[0]}"
    return {"ok": not stale and not last.error, "detail": ("STALE: " if stale else "") + detail,
            "last_run": last.finished_at.isoformat(), "purged": last.purged}
