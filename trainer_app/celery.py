"""The Celery app. Tasks live in each app's tasks.py and are found by autodiscovery."""

import os

from celery import Celery

import trainer_app.broker  # noqa: F401  (registers the embedded SQLite transport)
import trainer_app.broker_redis_guard  # noqa: F401  (Celery 5.7 + Redis: a lost connection must not stop the worker)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trainer_app.settings")

app = Celery("trainer_app")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
