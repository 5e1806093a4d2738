"""The Celery app. Tasks live in each app's tasks.py and are found by autodiscovery."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init, worker_ready

import trainer_app.broker  # noqa: F401  (registers the embedded SQLite transport)
import trainer_app.broker_redis_guard  # noqa: F401  (Celery 5.7 + Redis: a lost connection must not stop the worker)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trainer_app.settings")

app = Celery("trainer_app")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect(weak=False)
@worker_ready.connect(weak=False)
def _blas_threads_limit(**kwargs) -> None:
    # Every worker (speech: Whisper and the voice encoder; feedback: the assessors): numpy's spinning
    # BLAS threads beside the engines' own made them several times slower on 2 cores (trainer_app.engines.blas).
    from trainer_app.engines.blas import blas_threads_limit

    blas_threads_limit()


@worker_process_init.connect(weak=False)
@worker_ready.connect(weak=False)
def _pushes_on_a_kept_loop(**kwargs) -> None:
    # A worker's pushes to pages (live feedback, voice turns) reuse one event loop and its channel-layer
    # connection instead of building both per push (trainer_app.kept_loop).
    from trainer_app.kept_loop import kept_loop_enable

    kept_loop_enable()


@task_prerun.connect(weak=False)
@task_postrun.connect(weak=False)
def _connections_kept_while_usable(sender=None, **kwargs) -> None:
    # Celery's Django fixup closes every database connection before and after every task unless
    # CELERY_DB_REUSE_MAX is set (settings.py): a new connection per assessed turn (SQLite: connect and
    # its PRAGMAs, ~1.4 ms of the worker's CPU; PostgreSQL: a log-in and a new backend). Connections are
    # kept instead and dropped as Django drops them after a request: one that errored, failed its health
    # check (CONN_HEALTH_CHECKS) or outlived CONN_MAX_AGE. An eager task runs in its caller's transaction:
    # left alone, as the fixup leaves it.
    from django.db import close_old_connections

    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    close_old_connections()
