"""Replies being generated in this process, so a page that reconnects can pick
up a reply mid-stream and ending a session can stop one at once.

Cross-process truth is the session row (``generating_for_turn``) plus the
trainee turn's ``meta["generation"]`` heartbeat; this registry only knows about
this process."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

PROCESS_TOKEN = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
HEARTBEAT_S = 2.0  # a generation refreshes its claim this often...
STALE_S = 6.0  # ...and one silent for this long is presumed dead (its process crashed)


def generation_beat() -> dict:
    """A claim's heartbeat, kept in the trainee turn's ``meta["generation"]``."""
    return {"owner": PROCESS_TOKEN, "beat": time.time()}


def generation_is_stale(*, turn) -> bool:
    """No heartbeat (never claimed by this code, or claimed and crashed before a beat) or an old one."""
    info = (turn.meta or {}).get("generation") or {}
    return time.time() - float(info.get("beat", 0)) > STALE_S


@dataclass
class LiveGeneration:
    session_id: int
    turn_id: int
    cancel: threading.Event = field(default_factory=threading.Event)
    sent: list[str] = field(default_factory=list)  # chunks already sent to the group, in order

    @property
    def text(self) -> str:
        return "".join(self.sent)


_lock = threading.Lock()
_live: dict[int, LiveGeneration] = {}


def generation_register(*, session_id: int, turn_id: int) -> LiveGeneration:
    with _lock:
        live = LiveGeneration(session_id=session_id, turn_id=turn_id)
        _live[session_id] = live
        return live


def generation_unregister(*, live: LiveGeneration) -> None:
    with _lock:
        if _live.get(live.session_id) is live:
            del _live[live.session_id]


def generation_live(*, session_id: int) -> LiveGeneration | None:
    with _lock:
        return _live.get(session_id)


def generation_cancel(*, session_id: int) -> bool:
    live = generation_live(session_id=session_id)
    if live is None:
        return False
    live.cancel.set()
    return True
