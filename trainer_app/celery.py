"""The Celery app. Tasks live in each app's tasks.py and are found by autodiscovery."""

import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

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
