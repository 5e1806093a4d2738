from __future__ import annotations

from asgiref.sync import async_to_sync
from celery import shared_task
from channels.layers import get_channel_layer

from trainer_app.consumers import user_group_name


@shared_task(name="trainer_app.tasks.user_notify", time_limit=30, soft_time_limit=25, ignore_result=True)
def user_notify(user_id: int, payload: dict) -> None:
    """Push a small JSON payload to every open page of one user."""
    async_to_sync(get_channel_layer().group_send)(user_group_name(user_id), {"type": "user.notify", "payload": payload})


@shared_task(name="trainer_app.tasks.retention_purge", time_limit=600, soft_time_limit=570, ignore_result=True)
def retention_purge() -> None:
    """Delete audio (and anything else) past its retention period; scheduled by Celery beat."""
    from trainer_app.privacy.retention import retention_purge_run

    retention_purge_run()
