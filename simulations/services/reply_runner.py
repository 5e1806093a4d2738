"""The reply runner: how a web process answers trainee turns, one per process.

The websocket consumer is transport only; everything between "a trainee sent
a message" and "the persona's reply is stored" runs here, on two bounded
thread pools (sizes in settings: ``REPLY_RUNNER_DB_THREADS`` for short database
work, ``REPLY_RUNNER_THREADS`` for generations, so a database call never queues
behind a long LLM stream). The persona engines and the ORM are synchronous;
the event loop only forwards.

Lifecycle of a reply
--------------------
start    ``reply_turn_submit``: admission (below), then one transaction stores
         the turn, claims the session's generation slot for it and records
         the intent to assess it (feedback's outbox row); the echo goes to the
         session group and a generation job is queued.
stream   the job computes the persona state and runs the engine's stream
         (``persona_replies.persona_reply_generate``); chunks go to the session
         group through a pusher that sends the first chunk at once and then
         batches what arrives within ``REPLY_CHUNK_BATCH_S`` into one frame.
finish   one transaction stores the reply and the persona state and releases
         the claim; then ``reply-done``.
cancel   ending the session clears the claim and sets the in-process cancel
         flag (``generations.generation_cancel``): the stream stops at its next
         chunk and says ``reply-cancelled``. Cancelling a job's task (shutdown:
         ``reply_runner_stop``) sets the same flag, so the thread ends too.
resume   a page (re)connecting (``reply_session_open``) joins a reply still
         streaming in this process (``reply-start`` with the text so far), or
         takes over a claim whose heartbeat stopped (a crashed process) and
         regenerates it. A generation is not tied to the socket that started
         it: it completes if that socket drops.

Admission
---------
A turn is refused before anything is stored, with a visible message, when the
generation queue is full (``REPLY_RUNNER_QUEUE_MAX`` jobs waiting for a thread)
or its oldest job (or database call) has waited longer than
``REPLY_ADMISSION_MAX_WAIT_S``, or the median delay from receipt to reply start
of the last ``REPLY_ADMISSION_WINDOW_S`` seconds' turns (another quantile with
``REPLY_ADMISSION_START_QUANTILE``) is above ``REPLY_ADMISSION_MAX_START_S``, the
start budget of a turn (a saturated CPU slows every running reply at once, with
nothing queued), or
``REPLY_ADMISSION_MAX_STARTING`` admitted turns are still on their way to their
reply's start (a concurrency limit: it engages at the first burst, before any
late start has been seen; the window above only learns once replies are late): the
trainee sees "your partner needs a moment" and the page keeps their text,
instead of the turn waiting silently behind everyone else's. A turn sent while
the session's previous reply is still being generated is refused too ("busy"),
never merged: each message gets its own reply, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from simulations.events import session_group_name
from simulations.personas.prefetch import utterance_vectors_needed, utterance_vectors_prefetch
from simulations.services import session_events, warm_up
from simulations.services.generations import (
    STALE_S,
    generation_cancel,
    generation_live,
    generation_register,
    generation_unregister,
)
from simulations.services.persona_replies import persona_reply_generate, persona_reply_resume_needed
from simulations.services.turns import TurnRejected, chat_rate_limit_hit, trainee_turn_submit
from trainer_app.outages import OUTAGE_ERRORS, outage_warn

if TYPE_CHECKING:
    from simulations.models import Turn

logger = logging.getLogger(__name__)

OVERLOADED_MESSAGE = "Your partner needs a moment. Your message was not sent; send it again in a few seconds."
UNAVAILABLE_MESSAGE = (
    "Your message could not be saved: the server lost its database connection. It was not sent; send it again."
)
FAILED_MESSAGE = "Something went wrong generating the reply."


class _Pool:
    """A fixed-size thread pool that knows how long its queued calls have waited."""

    def __init__(self, *, threads: int, name: str):
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)  # threads start on use
        self._lock = threading.Lock()
        self._waiting: dict[int, float] = {}  # call number -> when it was queued
        self._numbers = itertools.count()

    def waiting(self) -> int:
        return len(self._waiting)

    def oldest_wait_s(self) -> float:
        with self._lock:
            oldest = min(self._waiting.values(), default=None)
        return 0.0 if oldest is None else time.monotonic() - oldest

    async def run(self, fn: Callable[..., Any], **kwargs) -> Any:
        """``fn(**kwargs)`` on a pool thread, with Django's connections handled as a request's.
        Cancelled before it started: it never runs."""
        number = next(self._numbers)
        with self._lock:
            self._waiting[number] = time.monotonic()

        def call():
            with self._lock:
                self._waiting.pop(number, None)
            close_old_connections()
            try:
                return fn(**kwargs)
            finally:
                close_old_connections()

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        finally:
            with self._lock:
                self._waiting.pop(number, None)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class _RecentLatency:
    """How long recent turns took from receipt to the start of their reply (stored, claimed, persona
    state computed: this process's own work, before any engine or LLM server), over a sliding window.

    Why: the queue-wait check sees only work waiting for a thread. On a saturated CPU the threads
    all run and all slow down together (first replies took 5-20 s with an empty queue); this delay
    says so. Refusing while it is high lets it recover: with no new turn admitted the window
    empties and admission resumes. An LLM server's own latency is not counted."""

    def __init__(self, *, min_samples: int = 5):
        self.min_samples = min_samples  # a few slow turns (a cold start) are not an overload
        self._samples: deque[tuple[float, float]] = deque()  # (when recorded, latency s)
        self._lock = threading.Lock()

    def record(self, latency_s: float) -> None:
        with self._lock:
            self._samples.append((time.monotonic(), latency_s))
            if len(self._samples) > 10_000:  # bounded whatever the window
                self._samples.popleft()

    def quantile_s(self, q: float, *, window_s: float) -> float | None:
        """The ``q`` quantile (0.5: the median) of the last ``window_s`` seconds' delays; None with fewer
        than ``min_samples``."""
        with self._lock:
            now = time.monotonic()
            while self._samples and self._samples[0][0] < now - window_s:
                self._samples.popleft()
            values = sorted(latency for _, latency in self._samples)
        if len(values) < self.min_samples:
            return None
        return values[min(len(values) - 1, int(q * len(values)))]

    def median_s(self, *, window_s: float) -> float | None:
        return self.quantile_s(0.5, window_s=window_s)


class _GroupPusher:
    """``push(event)`` from a generation thread → ``group_send`` from the event loop, in order.

    A reply's first chunk is sent at once; later chunks are sent at most every
    ``batch_s``, each frame carrying every chunk that arrived meanwhile (fewer
    frames: with per-token frames the event loop spent its time framing).

    perf: events cross from the thread to the loop in batches. A push only wakes the
    loop (``call_soon_threadsafe``: a write to its self-pipe, a wake-up, a callback)
    when no wake-up is pending already; the loop then takes everything pushed since.
    A scripted reply's ~60 word chunks cost one or two wake-ups instead of ~60 (each
    ~35 us of CPU on the loop and the pushing thread)."""

    def __init__(self, *, loop: asyncio.AbstractEventLoop, layer, group: str, batch_s: float,
                 on_reply_start: Callable[[], None] | None = None):
        self.loop, self.layer, self.group, self.batch_s = loop, layer, group, batch_s
        self.on_reply_start = on_reply_start
        self._items: deque = deque()  # the loop's side
        self._incoming: deque = deque()  # pushed by any thread, not yet taken by the loop
        self._incoming_lock = threading.Lock()
        self._wake_pending = False
        self._ready = asyncio.Event()
        self._last_chunk_at: dict[int, float] = {}  # reply_for -> when its last chunk frame was sent

    def _take_incoming(self) -> None:
        """On the loop: move what threads pushed to the loop's side, in order."""
        with self._incoming_lock:
            self._wake_pending = False
            if not self._incoming:
                return
            self._items.extend(self._incoming)
            self._incoming.clear()
        self._ready.set()

    def push(self, event: dict) -> None:
        """Thread-safe; a push after the loop closed (shutdown) is dropped."""
        with self._incoming_lock:
            self._incoming.append(event)
            if self._wake_pending:
                return  # the wake-up already scheduled takes this event too
            self._wake_pending = True
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._take_incoming)

    def close(self) -> None:
        """From the event loop: send what is queued, then stop."""
        self._take_incoming()
        self._items.append(None)
        self._ready.set()

    async def _next(self) -> dict | None:
        while True:
            self._take_incoming()
            if self._items:
                return self._items.popleft()
            self._ready.clear()
            await self._ready.wait()

    def _stream_over(self) -> bool:
        self._take_incoming()
        return any(item is None or item["kind"] != "reply-chunk" for item in self._items)

    def _merged(self, event: dict) -> dict:
        self._take_incoming()
        data, texts = event["data"], [event["data"]["text"]]
        while self._items and self._items[0] is not None and self._items[0]["kind"] == "reply-chunk" and (
            self._items[0]["data"]["reply_for"] == data["reply_for"]
        ):
            texts.append(self._items.popleft()["data"]["text"])
        if len(texts) == 1:
            return event
        return session_events.reply_chunk_event(trainee_turn_id=data["reply_for"], text="".join(texts), offset=data["offset"])

    async def run(self) -> None:
        while True:
            event = await self._next()
            if event is None:
                return
            if event["kind"] == "reply-chunk":
                reply_for = event["data"]["reply_for"]
                last = self._last_chunk_at.get(reply_for)
                if last is not None and not self._stream_over():
                    wait = last + self.batch_s - self.loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                event = self._merged(event)
                self._last_chunk_at[reply_for] = self.loop.time()
            try:
                await self.layer.group_send(self.group, {"type": "session.push", **event})
            except OUTAGE_ERRORS as exc:  # Redis is down: one line, not a traceback per chunk
                outage_warn(what="session push", exc=exc, log=logger)
            except Exception:  # a full channel must not kill the stream
                logger.exception("session push to %s failed", self.group)
            if event["kind"] == "reply-start" and self.on_reply_start is not None:
                self.on_reply_start()
                self.on_reply_start = None


def _generate_job(*, session_id: int, push, steal_from: int | None, claimed_turn: Turn | None) -> None:
    # A claimed turn is registered at once: while its state is computed (seconds when the models
    # load), this process knows the claim is alive (a second message is "busy", not a takeover).
    live = generation_register(session_id=session_id, turn_id=claimed_turn.pk) if claimed_turn else None
    try:
        warm_up.persona_ready(session_id=session_id)  # a persona build in progress is waited for, not repeated
        persona_reply_generate(
            session_id=session_id, push=push, steal_from=steal_from, claimed_turn=claimed_turn, live=live
        )
    finally:
        if live is not None:
            generation_unregister(live=live)


def _turn_store(*, user_id: int, session_id: int, text: str, client_id: str) -> tuple[dict, Turn, bool]:
    if chat_rate_limit_hit(user_id=user_id):
        raise TurnRejected(
            "rate-limit",
            f"You're sending messages too quickly (limit {settings.CHAT_RATE_LIMIT_PER_MINUTE} a minute). "
            "Wait a moment and send it again.",
        )
    try:
        turn, created = trainee_turn_submit(session_id=session_id, text=text, client_id=client_id, claim=True)
    except DatabaseError as exc:
        # Found by the fault suite: a connection dropped mid-transaction closed the socket with no word
        # (the consumer crashed). The transaction was rolled back, nothing is stored: say so.
        logger.warning("session %s: turn not stored, database error: %s", session_id, exc)
        raise TurnRejected("unavailable", UNAVAILABLE_MESSAGE) from exc
    return session_events.turn_event(turn=turn), turn, created


def _reply_done_for(*, turn_id: int) -> dict | None:
    from simulations.models import Turn

    reply = Turn.objects.filter(reply_to_id=turn_id).first()
    return None if reply is None else session_events.reply_done_event(reply=reply)


def _session_reload(*, session_id: int):
    from simulations.models import PracticeSession

    return PracticeSession.objects.get(pk=session_id)


async def _echo_delivered(echo: asyncio.Future) -> None:
    """Raise the outage that lost a turn's echo (other failures are logged by ``_task_failure_log``).

    Found by the fault suite: with the pub/sub layer a socket stays open while Redis is down, so
    an echo lost to the outage went unnoticed and the page never learnt its turn was stored.
    Raised, the consumer closes with 4503; the page reconnects once Redis is back and catches up
    (sync) on the turn and its reply, which is generated meanwhile. Shielded: a socket closing
    meanwhile does not cancel the push to the session's other pages."""
    try:
        await asyncio.shield(echo)
    except OUTAGE_ERRORS:
        raise
    except Exception:  # noqa: S110 - logged when the task ended
        pass


def _task_failure_log(task: asyncio.Future) -> None:
    """A background task's failure, logged when it ends (asyncio would log it only when the task is
    collected, as "exception was never retrieved"); an outage (e.g. an echo pushed while Redis is
    down) as one warning line."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is None:
        return
    if isinstance(exc, OUTAGE_ERRORS):
        outage_warn(what="session background task", exc=exc, log=logger)
    else:
        logger.error("session background task failed", exc_info=exc)


class ReplyRunner:
    def __init__(self) -> None:
        self.db = _Pool(threads=settings.REPLY_RUNNER_DB_THREADS, name="session-db")
        self.replies = _Pool(threads=settings.REPLY_RUNNER_THREADS, name="session-reply")
        self.start_delays = _RecentLatency()
        # Admitted new turns whose reply has not started yet (touched on the event loop only).
        self.starting = 0
        self._tasks: set[asyncio.Task] = set()  # generations (and pushes): they outlive the socket that started them

    # -- background tasks -------------------------------------------------------------
    def _keep(self, awaitable) -> asyncio.Future:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_task_failure_log)
        return task

    def stop(self) -> None:
        """Cancel every generation and push of this process (shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        self.replies.shutdown()
        self.db.shutdown()

    # -- admission ----------------------------------------------------------------------
    def admission_refusal(self) -> TurnRejected | None:
        """A turn is refused when replies are queued too long, or start too late."""
        max_wait = settings.REPLY_ADMISSION_MAX_WAIT_S
        window = settings.REPLY_ADMISSION_WINDOW_S
        recent = (
            self.start_delays.quantile_s(settings.REPLY_ADMISSION_START_QUANTILE, window_s=window) if window > 0 else None
        )
        if (
            self.replies.waiting() >= settings.REPLY_RUNNER_QUEUE_MAX
            or self.replies.oldest_wait_s() > max_wait
            or self.db.oldest_wait_s() > max_wait
            or (recent is not None and recent > settings.REPLY_ADMISSION_MAX_START_S)
            or 0 < settings.REPLY_ADMISSION_MAX_STARTING <= self.starting
        ):
            return TurnRejected("overloaded", OVERLOADED_MESSAGE)
        return None

    def _starting_admit(self) -> Callable[[], None]:
        """Count one admitted turn as starting; the returned release (idempotent) uncounts it."""
        self.starting += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.starting -= 1

        return release

    # -- generations --------------------------------------------------------------------
    async def _generate(self, *, layer, session_id: int, steal_from: int | None, claimed_turn: Turn | None,
                        received_at: float | None = None, started: Callable[[], None] | None = None) -> None:
        on_reply_start = None
        if received_at is not None:  # a new turn: the delay before its reply starts feeds admission

            def on_reply_start() -> None:
                self.start_delays.record(time.monotonic() - received_at)
                if started is not None:
                    started()
        pusher = _GroupPusher(loop=asyncio.get_running_loop(), layer=layer, group=session_group_name(session_id),
                              batch_s=settings.REPLY_CHUNK_BATCH_S, on_reply_start=on_reply_start)
        sender = asyncio.create_task(pusher.run())
        try:
            await self.replies.run(
                _generate_job, session_id=session_id, push=pusher.push, steal_from=steal_from, claimed_turn=claimed_turn
            )
        except asyncio.CancelledError:
            generation_cancel(session_id=session_id)  # the thread stops at its next chunk and releases the claim
            sender.cancel()
            raise
        except Exception:
            logger.exception("session %s: reply generation failed", session_id)
            pusher.push(session_events.notice_event(message=FAILED_MESSAGE, retry=True))
        finally:
            if started is not None:  # a reply that never started (failed, cancelled) stops counting too
                started()
        pusher.close()
        await sender

    def generation_start(self, *, layer, session_id: int, steal_from: int | None = None, claimed_turn: Turn | None = None,
                         received_at: float | None = None, started: Callable[[], None] | None = None) -> asyncio.Future:
        return self._keep(self._generate(layer=layer, session_id=session_id, steal_from=steal_from,
                                         claimed_turn=claimed_turn, received_at=received_at, started=started))

    async def turn_submit(self, *, layer, user_id: int, session_id: int, text: str, client_id: str) -> None:
        received_at = time.monotonic()
        refusal = self.admission_refusal()
        if refusal is not None:
            raise refusal
        started = self._starting_admit()
        # The utterance is embedded (for the persona state) while the turn is stored; perf: not handed to a
        # thread when its vectors are cached already (a repeated line) or being computed.
        prefetch = None
        if utterance_vectors_needed(text=text):
            prefetch = self._keep(self.replies.run(utterance_vectors_prefetch, text=text))
        try:
            event, turn, created = await self.db.run(
                _turn_store, user_id=user_id, session_id=session_id, text=text, client_id=client_id
            )
        except BaseException:
            if prefetch is not None:
                prefetch.cancel()
            started()
            raise
        # Stored and committed before any reply is generated. The echo is scheduled before the
        # generation, so this process's pages get it first.
        echo = self._keep(layer.group_send(session_group_name(session_id), {"type": "session.push", **event}))
        if created:
            self.generation_start(
                layer=layer, session_id=session_id, claimed_turn=turn, received_at=received_at, started=started
            )
            await _echo_delivered(echo)
            return
        started()
        # A resend: the page never saw the echo (its socket dropped, e.g. Redis restarted), so it
        # missed the reply too if one was stored meanwhile: send it again (the page drops duplicates).
        done = await self.db.run(_reply_done_for, turn_id=turn.pk)
        if done is not None:
            self._keep(layer.group_send(session_group_name(session_id), {"type": "session.push", **done}))
        else:  # a no-op when a reply is being generated
            self.generation_start(layer=layer, session_id=session_id)
        await _echo_delivered(echo)

    async def session_open(self, *, layer, session, can_write: bool) -> list[dict]:
        """A page joined the session: events for it alone (a reply it joins mid-stream), and
        a dead claim taken over."""
        if can_write:
            warm_up.persona_warm_for(session=session)
        live = generation_live(session_id=session.pk)
        if live is not None:
            return [session_events.reply_start_event(trainee_turn_id=live.turn_id, text=live.text)]
        if not can_write:
            return []
        needed, steal_from = await self.db.run(persona_reply_resume_needed, session=session)
        if needed:
            self.generation_start(layer=layer, session_id=session.pk, steal_from=steal_from)
        elif session.generating_for_turn_id:
            # Claimed elsewhere and alive (e.g. the voice worker); if it dies, take over later.
            self._keep(self._resume_later(layer=layer, session_id=session.pk))
        return []

    async def _resume_later(self, *, layer, session_id: int) -> None:
        await asyncio.sleep(STALE_S + 0.5)
        session = await self.db.run(_session_reload, session_id=session_id)
        needed, steal_from = await self.db.run(persona_reply_resume_needed, session=session)
        if needed:
            self.generation_start(layer=layer, session_id=session_id, steal_from=steal_from)


_runner: ReplyRunner | None = None
_runner_lock = threading.Lock()


def reply_runner() -> ReplyRunner:
    """This process's runner (created on first use: no thread exists before a socket needs one)."""
    global _runner
    if _runner is None:
        with _runner_lock:
            if _runner is None:
                _runner = ReplyRunner()
    return _runner


def reply_runner_stop() -> None:
    """Shutdown hook (ASGI lifespan): cancel this process's generations and stop its pools."""
    global _runner
    with _runner_lock:
        runner, _runner = _runner, None
    if runner is not None:
        runner.stop()


# Keyword-only entry points for the consumer.
async def reply_turn_submit(*, layer, user_id: int, session_id: int, text: str, client_id: str) -> None:
    """Admit, store (and claim) the turn, echo it, start its reply. Raises ``TurnRejected``."""
    await reply_runner().turn_submit(layer=layer, user_id=user_id, session_id=session_id, text=text, client_id=client_id)


async def reply_retry(*, layer, session_id: int) -> None:
    """"Try again" after a failed reply: regenerate the turn awaiting one (a no-op otherwise)."""
    reply_runner().generation_start(layer=layer, session_id=session_id)


async def reply_session_open(*, layer, session, can_write: bool) -> list[dict]:
    return await reply_runner().session_open(layer=layer, session=session, can_write=can_write)


async def reply_db_run(fn: Callable[..., Any], **kwargs) -> Any:
    """A short database call (access checks) on the runner's database pool."""
    return await reply_runner().db.run(fn, **kwargs)
