"""One event loop per process, kept, for the async calls that sync code makes (channel-layer pushes).

Why: ``async_to_sync`` builds an event loop and a thread for every call, and channel layers keep
their connections per event loop, so every push from a worker paid for a new loop, a new thread and
a new connection (Redis: a new socket; the embedded SQLite layer: new executor threads, each
opening the database again). On a kept loop they are made once. The loop runs in one daemon thread,
started on first use (never at import) and again in a forked child (the thread does not survive a
fork).

Only where nothing else runs the channel layer: the Celery workers turn it on at start-up
(``kept_loop_enable``, trainer_app.celery). A web process leaves it off: there ``async_to_sync``
from a sync view runs the push on the server's own loop, where that process's pages' channels wait
(the embedded layer delivers to them in memory, and an asyncio queue must be fed from its own loop).

A call that fails on the kept loop is tried once more the old way, on a fresh loop: a layer whose
kept connection went stale (Redis restarted) must not lose the push. A push delivered twice is
harmless (pages drop what they already show, by ids)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from asgiref.sync import async_to_sync

logger = logging.getLogger(__name__)
T = TypeVar("T")

_guard = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_enabled = False


def kept_loop_enable() -> None:
    """This process's pushes go through the kept loop (a worker's start-up hook calls it)."""
    global _enabled
    _enabled = True


def kept_loop_enabled() -> bool:
    return _enabled


def _kept_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _guard:
        if _loop is None or _loop_pid != os.getpid() or not _loop.is_running():
            loop = asyncio.new_event_loop()
            started = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(started.set)
                loop.run_forever()

            threading.Thread(target=run, name="kept-event-loop", daemon=True).start()
            started.wait()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


def kept_loop_run(call: Callable[[], Awaitable[T]], *, timeout_s: float = 30.0) -> T:
    """``await call()`` on the process's kept loop, from sync code; blocks until done.

    ``call`` makes a new awaitable each time it is called (it may be called twice: see the module
    docstring). Raises what the call raised on the fresh loop, or TimeoutError."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:  # as async_to_sync does: blocking here would stall the caller's own loop
        raise RuntimeError("kept_loop_run() cannot be called from a running event loop; await the call instead")
    future = asyncio.run_coroutine_threadsafe(_awaited(call), _kept_loop())
    try:
        return future.result(timeout=timeout_s)
    except Exception as exc:
        future.cancel()
        logger.info(
            "kept event loop: %s failed there (%s: %s); trying once on a fresh loop",
            getattr(call, "__qualname__", call),
            type(exc).__name__,
            exc,
        )
        return async_to_sync(_awaited)(call)


async def _awaited(call: Callable[[], Awaitable[T]]) -> T:
    return await call()
