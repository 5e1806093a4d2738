"""Per-user notifications: background work (a transcription, an import) tells
the user's open pages that it finished. One group per user."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer


def user_group_name(user_id: int) -> str:
    return f"user-{user_id}"


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.group = user_group_name(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        # Notifications are one-way; anything sent by the browser is ignored.
        return

    async def user_notify(self, event: dict) -> None:
        await self.send_json({"type": "notification", "payload": event.get("payload", {})})
