"""A trainee's session page over a real websocket, behaving as ``static/js/session.js`` does.

What the fault tests need from "the browser": it reconnects after a drop (backing
off, 0.25 s doubling to 2 s here instead of 0.5 s to 8 s), resends every turn the
server has not confirmed with its client id when it reconnects (its outbox), and
takes a refused turn out of the outbox (``busy``, ``overloaded``, ``unavailable``:
the page puts the text back in the box). On each (re)connect it first asks the server
to catch up (``sync`` with the last trainee turn it saw answered) and, like the page,
drops what it already shows (a turn, a final reply, live feedback for the same
assessments): ``frames`` holds what the page shows, ``duplicates`` what it dropped.
Every frame and every connection change is recorded with the time it happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass


@dataclass
class Frame:
    at: float
    msg: dict

    @property
    def kind(self) -> str:
        return self.msg.get("kind") or self.msg.get("type", "")

    @property
    def data(self) -> dict:
        return self.msg.get("data") or {}


class Page:
    def __init__(self, *, base_url: str, session_id: int, cookie: str):
        self.ws_url = base_url.replace("http://", "ws://") + f"/ws/practice/{session_id}/"
        self.origin, self.cookie = base_url, cookie
        self.outbox: dict[str, str] = {}
        self.frames: list[Frame] = []
        self.duplicates: list[Frame] = []
        self._turns: list[int] = []  # trainee turns shown, in order
        self._answered: set[int] = set()  # trainee turns whose final reply is shown
        self._feedback: set[int] = set()  # assessments whose live feedback is shown
        self.events: list[tuple[float, str]] = []  # (time, "open" | "closed: ..." | "refused: ...")
        self.connected = threading.Event()
        self._lock = threading.Lock()
        self._stop = False
        self._ws = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-page", daemon=True)

    # -- lifecycle ----------------------------------------------------------------------
    def open(self, *, timeout: float = 30.0) -> Page:
        self._thread.start()
        self._runner = asyncio.run_coroutine_threadsafe(self._run(), self._loop)
        if not self.connected.wait(timeout):
            raise AssertionError(f"the page did not connect within {timeout} s: {self.events[-5:]}")
        return self

    def close(self) -> None:
        self._stop = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._ws.close(), self._loop).result(timeout=5)
        with contextlib.suppress(Exception):
            self._runner.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _run(self) -> None:
        from websockets.asyncio.client import connect

        delay = 0.25
        while not self._stop:
            try:
                ws = await connect(self.ws_url, origin=self.origin, additional_headers={"Cookie": self.cookie},
                                   open_timeout=10, ping_interval=None, max_size=2**22)
            except Exception as exc:  # refused, handshake failed (server down, Redis down, ...)
                self._event(f"refused: {type(exc).__name__}: {exc}"[:200])
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            delay = 0.25
            self._ws = ws
            self._event("open")
            self.connected.set()
            with contextlib.suppress(Exception):
                await ws.send(json.dumps({"type": "sync", "after": self._last_answered()}))
            for client_id, text in list(self.outbox.items()):  # unconfirmed turns, resent with their ids
                with contextlib.suppress(Exception):
                    await ws.send(json.dumps({"type": "turn", "text": text, "client_id": client_id}))
            try:
                async for raw in ws:
                    self._receive(json.loads(raw))
                self._event(f"closed: {ws.close_code}")
            except Exception as exc:
                self._event(f"closed: {type(exc).__name__}: {exc}"[:200])
            self.connected.clear()
            self._ws = None
            if not self._stop:
                await asyncio.sleep(delay)

    def _event(self, what: str) -> None:
        with self._lock:
            self.events.append((time.time(), what))

    def _last_answered(self) -> int:
        return next((t for t in reversed(self._turns) if t in self._answered), 0)

    def _duplicate(self, msg: dict) -> bool:
        """As static/js/session.js decides: already shown, so dropped."""
        kind, data = msg.get("kind"), msg.get("data") or {}
        if kind == "turn":
            if data.get("turn_id") in self._turns:
                return True
            self._turns.append(data.get("turn_id"))
        elif kind == "reply-done":
            if data.get("reply_for") in self._answered:
                return True
            self._answered.add(data.get("reply_for"))
        elif kind == "feedback":
            ids = set(data.get("assessments") or [])
            if ids and ids <= self._feedback:
                return True
            self._feedback |= ids
        return False

    def _receive(self, msg: dict) -> None:
        with self._lock:
            (self.duplicates if msg.get("type") == "push" and self._duplicate(msg) else self.frames).append(Frame(time.time(), msg))
        if msg.get("type") == "error" and msg.get("client_id") and msg.get("code") != "rate-limit":
            self.outbox.pop(msg["client_id"], None)  # refused, not stored: the text goes back in the box
        elif msg.get("kind") == "turn":
            self.outbox.pop((msg.get("data") or {}).get("client_id", ""), None)

    # -- sending --------------------------------------------------------------------------
    def send_turn(self, text: str, client_id: str | None = None) -> str:
        """As the page's form does: into the outbox, and sent if the socket is open."""
        client_id = client_id or uuid.uuid4().hex
        self.outbox[client_id] = text
        self.send_raw({"type": "turn", "text": text, "client_id": client_id})
        return client_id

    def send_raw(self, payload: dict) -> bool:
        ws = self._ws
        if ws is None:
            return False
        future = asyncio.run_coroutine_threadsafe(ws.send(json.dumps(payload)), self._loop)
        try:
            future.result(timeout=5)
            return True
        except Exception:
            return False

    # -- reading ----------------------------------------------------------------------------
    def received(self, kind: str, **data) -> list[Frame]:
        """Frames of ``kind`` (a push kind, or "error") whose data (or, for errors, fields) match."""
        with self._lock:
            frames = list(self.frames)
        out = []
        for frame in frames:
            if frame.kind != kind:
                continue
            fields = frame.msg if kind == "error" else frame.data
            if all(fields.get(k) == v for k, v in data.items()):
                out.append(frame)
        return out

    def wait_for(self, kind: str, *, timeout: float, **data) -> Frame:
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.received(kind, **data)
            if found:
                return found[0]
            time.sleep(0.05)
        with self._lock:
            seen = [(f.kind, {k: f.data.get(k) for k in ("turn_id", "reply_for", "client_id")}) for f in self.frames[-12:]]
            events = self.events[-6:]
        raise AssertionError(f"no {kind} {data} within {timeout} s; last frames {seen}; connection {events}")

    def events_since(self, since: float) -> list[str]:
        with self._lock:
            return [what for at, what in self.events if at >= since]


def voice_upload(*, base_url: str, session_id: int, cookie: str, audio: bytes, mime: str, client_id: str,
                 timeout: float = 30) -> tuple[int, str]:
    """POST a recorded turn as the page's microphone button does (multipart, CSRF header, Origin)."""
    import http.client
    import secrets
    from urllib.parse import urlsplit

    from django.urls import reverse

    csrf = secrets.token_hex(16)  # 32 characters: an unmasked CSRF secret, as the cookie holds
    boundary = "fault" + secrets.token_hex(12)
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="client_id"\r\n\r\n{client_id}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="turn.wav"\r\n'
        f"Content-Type: {mime}\r\n\r\n"
    ).encode() + audio + f"\r\n--{boundary}--\r\n".encode()
    host = urlsplit(base_url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=timeout)
    try:
        conn.request("POST", reverse("simulations:session_voice", args=[session_id]), body=body, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Cookie": f"{cookie}; csrftoken={csrf}", "X-CSRFToken": csrf,
            "Origin": base_url, "Referer": base_url + "/",
        })
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def form_post(*, base_url: str, path: str, cookie: str, fields: dict[str, str], timeout: float = 30) -> tuple[int, dict, str]:
    """A plain HTML form POST (no JavaScript), as a browser sends it: (status, headers lower-cased, body)."""
    import http.client
    import secrets
    from urllib.parse import urlencode, urlsplit

    csrf = secrets.token_hex(16)  # 32 characters: an unmasked CSRF secret, as the cookie holds
    body = urlencode({**fields, "csrfmiddlewaretoken": csrf}).encode()
    host = urlsplit(base_url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html",
            "Cookie": f"{cookie}; csrftoken={csrf}", "Origin": base_url, "Referer": base_url + path,
        })
        response = conn.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read().decode(errors="replace")
    finally:
        conn.close()


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.02):
    """``predicate()``'s first truthy value, polled every ``interval`` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
