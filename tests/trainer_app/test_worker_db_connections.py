"""A worker keeps its database connection from one task to the next (Celery's Django fixup closed it
before and after every task: a new connection, PRAGMAs or a PostgreSQL log-in, per assessed turn), and
still drops one that Django would drop after a request (here: one that outlived CONN_MAX_AGE)."""

from __future__ import annotations

import time

from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from trainer_app.celery import app


class _Task:
    request = type("Request", (), {"is_eager": False})()


def test_connections_are_kept_between_tasks_and_an_obsolete_one_is_dropped(transactional_db):
    fixup = DjangoWorkerFixup(app)  # what a worker process installs at start-up
    signals.task_prerun.connect(fixup.on_task_prerun)
    signals.task_postrun.connect(fixup.on_task_postrun)
    task = _Task()
    try:
        assert app.conf.get("CELERY_DB_REUSE_MAX") >= 50
        connection.ensure_connection()
        kept = connection.connection
        for _ in range(20):  # twenty tasks, each using the database
            signals.task_prerun.send(sender=task)
            connection.cursor().execute("SELECT 1")
            signals.task_postrun.send(sender=task)
        assert connection.connection is kept

        connection.close_at = time.monotonic() - 1  # outlived CONN_MAX_AGE
        signals.task_postrun.send(sender=task)
        assert connection.connection is None
    finally:
        signals.task_prerun.disconnect(fixup.on_task_prerun)
        signals.task_postrun.disconnect(fixup.on_task_postrun)
