"""The practice session websocket: ``ws/practice/<session_id>/``. Transport only.

Protocol (JSON both ways):

browser → server
  {"type": "turn", "text": "...", "client_id": "..."}   a trainee message (resend-safe by client_id)
  {"type": "retry"}                                      regenerate a reply that failed
  {"type": "sync", "after": turn_id}                     (re)connected: send again what was pushed about
                                                         trainee turns from turn_id on (0: the newest ones)
server → browser
  {"type": "push", "kind": k, "html": h, "data": {...}}  k: turn, reply-start, reply-chunk, reply-done,
                                                         reply-cancelled, notice, transcript, feedback, ended
  {"type": "error", "code": c, "message": m, "client_id": id, "html": h}
                                                         c: read-only, bad-type, invalid, too-long,
                                                         rate-limit, ended, busy, overloaded, unavailable, access

Close codes: 4401 not logged in, 4403 no access, 4503 the service is briefly unavailable (Redis or
the database is down): the page says so and reconnects; its unsent turns stay in its outbox.

``html`` is htmx out-of-band swaps rendered by templates; the page feeds it to
``htmx.swap``. This consumer authenticates, validates with its form, and hands
turns to the reply runner (``simulations/services/reply_runner.py``), which
stores them, generates replies and pushes their events to the session's group.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from simulations.events import session_group_name
from simulations.forms.sessions import ChatMessageForm
from simulations.selectors.sessions import practice_session_access
from simulations.services import session_events
from simulations.services.reply_runner import reply_db_run, reply_retry, reply_session_open, reply_turn_submit
from simulations.services.session_catch_up import session_catch_up_events
from simulations.services.turns import TurnRejected
from trainer_app.outages import OUTAGE_ERRORS, outage_warn

logger = logging.getLogger(__name__)

ACCESS_LOST_MESSAGE = "You no longer have access to this session."
SYNC_MIN_INTERVAL_S = 1.0  # a page syncs once per (re)connect; more often is ignored
SERVICE_UNAVAILABLE_MESSAGE = (
    "The service is briefly unavailable. Reconnecting… Messages you send now are kept on this page "
    "and sent once it is back."
)
CLOSE_UNAVAILABLE = 4503


class PracticeSessionConsumer(AsyncJsonWebsocketConsumer):
    session_id: int
    group: str | None = None
    can_write = False
    synced_at = 0.0
    accepted = False

    async def __call__(self, scope, receive, send) -> None:
        # The channel layer's receive loop and connect's group_add raise when Redis is down (and the
        # access check when the database is): without this the handshake answered HTTP 500 with a
        # traceback, over and over as the page retried.
        # (With the pub/sub layer, even naming this socket's channel subscribes in Redis, before
        # channels has stored ``send``: hence the ASGI ``send`` itself below.)
        try:
            await super().__call__(scope, receive, send)
        except OUTAGE_ERRORS as exc:
            outage_warn(what="practice websocket", exc=exc, log=logger)
            await self._close_unavailable(send)

    async def _close_unavailable(self, send) -> None:
        """Tell the page why (an ``unavailable`` error, then close code 4503) instead of failing the
        handshake, which a browser reports only as "closed" (1006)."""
        frame = {"type": "error", "code": "unavailable", "message": SERVICE_UNAVAILABLE_MESSAGE, "client_id": "",
                 "html": session_events.notice_html(message=SERVICE_UNAVAILABLE_MESSAGE, level="warning")}
        with contextlib.suppress(Exception):  # the client may have gone meanwhile
            if not self.accepted:
                await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": json.dumps(frame)})
            await send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE, "reason": "service unavailable"})

    async def dispatch(self, message) -> None:
        """Channels' dispatch without its ``aclose_old_connections()`` before every handler.

        perf: that call is a hop to channels' sync thread for each frame and each push (six per turn
        per page: ~2 ms of the event loop's CPU per turn, and the thread's) to close database
        connections this consumer never opens there: its database work runs on the reply runner's
        pools (``reply_db_run``), which close their connections around each call."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        access = await reply_db_run(practice_session_access, user=user, session_id=self.session_id)
        if access is None:
            await self.close(code=4403)
            return
        self.can_write = access.can_write
        self.group = session_group_name(self.session_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self.accepted = True
        for event in await reply_session_open(layer=self.channel_layer, session=access.session, can_write=self.can_write):
            await self.send_json({"type": "push", **event})

    async def _access_still_held(self) -> bool:
        access = await reply_db_run(practice_session_access, user=self.scope["user"], session_id=self.session_id)
        if access is None or access.can_write != self.can_write:
            await self._error("access", ACCESS_LOST_MESSAGE)
            await self.close(code=4403)
            return False
        return True

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def _error(self, code: str, message: str, client_id: str = "") -> None:
        await self.send_json(
            {
                "type": "error",
                "code": code,
                "message": message,
                "client_id": client_id,
                "html": session_events.notice_html(message=message),
            }
        )

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # Found by fuzzing: a binary or non-JSON frame raised inside channels and dropped the socket.
        if text_data is None:
            await self._error("bad-type", "Binary messages are not accepted; send JSON text.")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error("bad-type", "That message could not be understood (it is not JSON).")
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict):
            await self._error("bad-type", "That message could not be understood.")
            return
        kind = content.get("type")
        client_id = str(content.get("client_id") or "")[:64]
        if kind == "sync":  # read-only: watchers catch up too
            await self._sync_request(content.get("after"))
            return
        if not self.can_write:
            # A watcher (instructor) re-checks on every frame; membership changes also reach it
            # through session_access_check below.
            if await self._access_still_held():
                await self._error("read-only", "You are viewing this session read-only; only the trainee can send.", client_id)
            return
        if kind == "retry":
            await reply_retry(layer=self.channel_layer, session_id=self.session_id)
            return
        if kind != "turn":
            await self._error("bad-type", f"Unknown message type {str(kind)[:40]!r}.", client_id)
            return
        form = ChatMessageForm({"text": content.get("text"), "client_id": content.get("client_id")})
        if not isinstance(content.get("text"), str) or not form.is_valid():
            code = "too-long" if "text" in form.errors and len(str(content.get("text"))) > settings.CHAT_MESSAGE_MAX_CHARS else "invalid"
            await self._error(code, form.error_message() or "A message must be text.", client_id)
            return
        try:
            await reply_turn_submit(
                layer=self.channel_layer,
                user_id=self.scope["user"].pk,
                session_id=self.session_id,
                text=form.cleaned_data["text"],
                client_id=form.cleaned_data["client_id"],
            )
        except TurnRejected as exc:
            await self._error(exc.code, exc.message, client_id)

    async def _sync_request(self, after) -> None:
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            await self._error("bad-type", "A sync needs the id of the last turn the page has (a whole number).")
            return
        if time.monotonic() - self.synced_at < SYNC_MIN_INTERVAL_S or (not self.can_write and not await self._access_still_held()):
            return
        self.synced_at = time.monotonic()
        # Through the group, not straight from the database: once this probe comes back, the group
        # subscription is active, so whatever the database does not have yet will be pushed to us.
        await self.channel_layer.group_send(self.group, {"type": "session.sync", "probe": self.channel_name, "after": after})

    async def session_sync(self, event: dict) -> None:
        """Our own sync probe came back through the group (other pages ignore it): send what the page may have missed."""
        if event.get("probe") != self.channel_name:
            return
        for push in await reply_db_run(session_catch_up_events, session_id=self.session_id, after_turn_id=int(event.get("after", 0))):
            await self.session_push(push)

    async def session_access_check(self, event: dict) -> None:
        """Sent to the session's group when a cohort's membership or owner changed."""
        await self._access_still_held()

    async def session_push(self, event: dict) -> None:
        with contextlib.suppress(Exception):  # the socket closed meanwhile
            await self.send_json(
                {"type": "push", "kind": event.get("kind", ""), "html": event.get("html", ""), "data": event.get("data", {})}
            )
