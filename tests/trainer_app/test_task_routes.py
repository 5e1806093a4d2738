"""Celery task routes name tasks that exist."""

from __future__ import annotations

from fnmatch import fnmatchcase

from django.conf import settings

from trainer_app.celery import app


def test_every_route_matches_a_registered_task():
    app.loader.import_default_modules()  # autodiscovery, as a worker does at start
    tasks = [name for name in app.tasks if not name.startswith("celery.")]
    unmatched = [pattern for pattern in settings.CELERY_TASK_ROUTES if not any(fnmatchcase(t, pattern) for t in tasks)]
    assert unmatched == [], f"routes naming no task: {unmatched} (tasks: {sorted(tasks)})"
    # and every task of the project has a queue
    unrouted = [t for t in tasks if not any(fnmatchcase(t, p) for p in settings.CELERY_TASK_ROUTES)]
    assert unrouted == []
