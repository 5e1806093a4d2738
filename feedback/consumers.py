"""Live progress of a recording's pipeline: one group per recording, rendered partials pushed by the stages."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from feedback.selectors.recordings import recording_for_viewer


class RecordingProgressConsumer(AsyncWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        from feedback.services.recording_pipeline import recording_group_name

        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        recording_id = int(self.scope["url_route"]["kwargs"]["recording_id"])
        recording = await database_sync_to_async(recording_for_viewer)(user=user, recording_id=recording_id)
        if recording is None:
            await self.close(code=4404)
            return
        self.group = recording_group_name(recording_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        return  # one-way: the page only listens

    async def recording_progress(self, event: dict) -> None:
        await self.send(text_data=event["html"])
