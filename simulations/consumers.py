"""The practice session websocket: ``ws/practice/<session_id>/``.

Protocol (JSON both ways):

browser → server
  {"type": "turn", "text": "...", "client_id": "..."}   a trainee message (resend-safe by client_id)
  {"type": "retry"}                                      regenerate a reply that failed
server → browser
  {"type": "push", "kind": k, "html": h, "data": {...}}  k: turn, reply-start, reply-chunk, reply-done,
                                                         reply-cancelled, notice, transcript, feedback, ended
  {"type": "error", "code": c, "message": m, "client_id": id, "html": h}
                                                         c: read-only, bad-type, invalid, too-long,
                                                         rate-limit, ended, busy

``html`` is htmx out-of-band swaps; the page feeds it to ``htmx.swap``.

The event loop only validates and forwards. Database writes, the persona
state update and the engine's (sync) stream run in worker threads; their
events come back through a thread-safe queue and go to the session's group,
so every page on the session (the trainee's other tabs, an instructor) sees
them and a reconnecting page can join a reply mid-stream. A generation is not
tied to the connection that started it: it completes even if that socket drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import close_old_connections

from simulations.events import session_group_name
from simulations.forms.sessions import ChatMessageForm
from simulations.personas.prefetch import utterance_vectors_prefetch
from simulations.selectors.sessions import practice_session_access
from simulations.services import session_events
from simulations.services.generations import generation_live
from simulations.services.persona_replies import (
    STALE_S,
    persona_reply_generate,
    persona_reply_resume_needed,
)
from simulations.services.turns import TurnRejected, chat_rate_limit_hit, trainee_turn_submit

logger = logging.getLogger(__name__)

# Two pools: short database work must never queue behind long LLM streams.
_QUICK = ThreadPoolExecutor(max_workers=getattr(settings, "SESSION_QUICK_THREADS", 8), thread_name_prefix="session-db")
_STREAMS = ThreadPoolExecutor(
    max_workers=getattr(settings, "SESSION_STREAM_THREADS", 64), thread_name_prefix="session-reply"
)
_background: set[asyncio.Future] = set()  # generations (and pushes) outlive the socket that started them


def _with_connections(fn, kwargs):
    # Threads from our pools use Django's DB connections like a request would.
    close_old_connections()
    try:
        return fn(**kwargs)
    finally:
        close_old_connections()


async def _run(pool: ThreadPoolExecutor, fn, **kwargs):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, functools.partial(_with_connections, fn, kwargs))


class _GroupPusher:
    """push(event) from a worker thread → group_send from the event loop, in order.

    Consecutive chunks already waiting are sent as one message: fewer channel
    layer round trips under load, and the first chunk never waits."""

    def __init__(self, *, loop: asyncio.AbstractEventLoop, layer, group: str):
        self.loop, self.layer, self.group = loop, layer, group
        self.queue: asyncio.Queue = asyncio.Queue()

    def push(self, event: dict) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, event)

    async def run(self) -> None:
        held = None
        while True:
            event = held if held is not None else await self.queue.get()
            held = None
            if event is None:
                return
            if event["kind"] == "reply-chunk":
                data, texts = event["data"], [event["data"]["text"]]
                while not self.queue.empty():
                    following = self.queue.get_nowait()
                    if following is not None and following["kind"] == "reply-chunk" and (
                        following["data"]["reply_for"] == data["reply_for"]
                    ):
                        texts.append(following["data"]["text"])
                    else:
                        held = following
                        break
                if len(texts) > 1:
                    event = session_events.reply_chunk_event(
                        trainee_turn_id=data["reply_for"], text="".join(texts), offset=data["offset"]
                    )
            try:
                await self.layer.group_send(self.group, {"type": "session.push", **event})
            except Exception:  # a full channel must not kill the stream
                logger.exception("session push to %s failed", self.group)


async def _generate(*, layer, session_id: int, steal_from: int | None = None) -> None:
    pusher = _GroupPusher(loop=asyncio.get_running_loop(), layer=layer, group=session_group_name(session_id))
    sender = asyncio.create_task(pusher.run())
    try:
        await _persona_ready(session_id)  # perf (bench): see persona_warm_for
        await _run(_STREAMS, persona_reply_generate, session_id=session_id, push=pusher.push, steal_from=steal_from)
    except Exception:
        logger.exception("session %s: reply generation failed", session_id)
        pusher.push(session_events.notice_event(message="Something went wrong generating the reply.", retry=True))
    finally:
        pusher.queue.put_nowait(None)
        await sender


_warmed = threading.Event()


def _warm_up() -> None:
    # The first utterance of a process loads the sentence-embedding model (seconds);
    # do it while the trainee reads the opening line, not after they send.
    try:
        from simulations.personas.signals import utterance_signals

        utterance_signals(text="Hello, how are you?", last_persona_text="Hi.")
    except Exception:
        logger.exception("persona warm-up failed (the first reply will be slower)")


def warm_up_in_background() -> None:
    """Load the persona engine's models once per process, off the event loop."""
    if not _warmed.is_set():
        _warmed.set()
        _STREAMS.submit(_warm_up)


# --- perf (bench): warm personas' indexes before their first turn ------------------------------
# The scripted engine builds per-persona indexes lazily on the first reply (every
# authored prompt and reply line embedded: ~100-150 texts, 0.5-3 s per persona on
# 2 busy cores; ~35 s for the 17 starter personas). With many sessions starting
# together, every reply thread built them at once (duplicate builds, up to 64
# threads in torch on 2 cores): replies took 30-70 s for the first minute and the
# web process grew from ~600 MB to ~1.9 GB. Here one thread builds each scenario
# version's indexes once: for every scenario at start-up when ENGINES_WARM_ON_START=1
# (set by `manage.py serve` for daphne), and on connect otherwise; a generation
# waits for its session's build instead of starting its own.
_PERSONA_WARM = ThreadPoolExecutor(max_workers=1, thread_name_prefix="persona-warm")
_warm_lock = threading.Lock()
_persona_warm_futures: dict[int, Future] = {}  # scenario version id -> build
_session_warm: dict[int, Future] = {}  # session id -> its scenario version's build (until its first generation)


def _persona_warm(*, persona: dict, scenario: dict, exam: bool) -> None:
    from simulations.personas import topics
    from simulations.personas.engines import scripted
    from simulations.personas.selection import persona_engine_for
    from simulations.personas.state import persona_state_initial

    # The topic index serves every engine (the persona state update matches topics);
    # the scripted engine also indexes every authored line (asides, which a greeting
    # does not reach), then a throw-away reply builds anything else it caches.
    engine = persona_engine_for(scenario=scenario, exam=exam)
    if engine.name != "scripted":
        from simulations.personas.leak import leak_check_warm

        topics.script_index_warm(persona=persona)
        leak_check_warm(persona=persona)  # the first reply sentence is checked against every fact view
        if persona.get("partner"):
            from simulations.personas.triggers import persona_triggers_hit

            persona_triggers_hit(persona=persona, text="Hello, thanks for making time.")  # embeds its trigger lines
        return  # an LLM persona must not be called here
    scripted.scripted_persona_warm(persona=persona)
    opening = (scenario.get("opening_line") or "").strip()
    state = persona_state_initial(persona=persona, scenario=scenario)
    history = [{"speaker": "persona", "text": opening}] if opening else []
    for _ in engine.reply_stream(persona=persona, scenario=scenario, state=state, history=history,
                                 trainee_text="Hello, how are you today?", seed=0):
        pass


def _persona_warm_safe(*, version_id: int, persona: dict, scenario: dict, exam: bool) -> None:
    try:
        _persona_warm(persona=persona, scenario=scenario, exam=exam)
    except Exception:
        logger.exception("persona warm-up for scenario version %s failed", version_id)


def _persona_warm_version(*, version, exam: bool = False) -> Future:
    with _warm_lock:
        future = _persona_warm_futures.get(version.pk)
        if future is None:
            future = _PERSONA_WARM.submit(
                _persona_warm_safe, version_id=version.pk, persona=version.persona_data,
                scenario=version.scenario_data, exam=exam,
            )
            _persona_warm_futures[version.pk] = future
        return future


def persona_warm_for(*, session) -> None:
    future = _persona_warm_version(version=session.scenario_version, exam=session.exam)
    if not future.done():
        with _warm_lock:
            _session_warm[session.pk] = future


async def _persona_ready(session_id: int) -> None:
    with _warm_lock:
        future = _session_warm.pop(session_id, None)
    # Wait only for a build in progress; one still queued behind other scenarios' builds
    # (start-up) is not waited for: the reply builds what it needs itself, as before.
    if future is not None and future.running():
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.wrap_future(future), timeout=60)


def _reply_paths_warm() -> None:
    """What a process's first reply would otherwise pay for: compiling the session partials
    (Django's cached template loader compiles on first use) and building the openai SDK's
    response types (pydantic validators, built lazily on the first streamed chunk)."""
    from simulations.models import Turn
    from simulations.personas.engines.llm import llm_config_from_settings

    turn = Turn(pk=0, index=0, speaker=Turn.Speaker.TRAINEE, text="Hello.", source=Turn.Source.TEXT)
    session_events.turn_event(turn=turn)
    session_events.reply_start_event(trainee_turn_id=0)
    session_events.notice_event(message="Warming up.", retry=True)
    if llm_config_from_settings().configured:
        from openai._models import construct_type
        from openai.types.chat import ChatCompletionChunk

        construct_type(type_=ChatCompletionChunk, value={
            "id": "warm", "object": "chat.completion.chunk", "created": 0, "model": "warm",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi."}, "finish_reason": None}],
        })


def _persona_warm_all() -> None:
    """Every playable scenario's persona, once, in the background (web start-up)."""
    import time

    from simulations.models import Scenario

    started = time.monotonic()
    close_old_connections()
    try:
        versions = [s.current_version for s in Scenario.objects.filter(is_archived=False, current_version__isnull=False)
                    .select_related("current_version")]
    except Exception:
        logger.exception("persona warm-up: could not list scenarios")
        return
    finally:
        close_old_connections()
    futures = [_persona_warm_version(version=v) for v in versions]
    for future in futures:
        future.result()
    try:
        _reply_paths_warm()
    except Exception:
        logger.exception("reply path warm-up failed (the first reply will be slower)")
    from trainer_app.gc_tuning import gc_freeze_after_warm_up

    gc_freeze_after_warm_up()
    logger.info("persona indexes warm: %d scenario versions in %.1f s", len(versions), time.monotonic() - started)


if os.environ.get("ENGINES_WARM_ON_START") == "1":
    threading.Thread(target=_persona_warm_all, name="persona-warm-all", daemon=True).start()


# --- end perf ---------------------------------------------------------------------------------


def _background_future(future: asyncio.Future) -> None:
    # Kept referenced until done (a dropped future could be collected mid-run).
    _background.add(future)
    future.add_done_callback(_background.discard)


def generation_spawn(*, layer, session_id: int, steal_from: int | None = None) -> asyncio.Task:
    task = asyncio.create_task(_generate(layer=layer, session_id=session_id, steal_from=steal_from))
    _background_future(task)
    return task


def _submit(*, user_id: int, session_id: int, text: str, client_id: str) -> tuple[dict, bool]:
    if chat_rate_limit_hit(user_id=user_id):
        raise TurnRejected(
            "rate-limit",
            f"You're sending messages too quickly (limit {settings.CHAT_RATE_LIMIT_PER_MINUTE} a minute). "
            "Wait a moment and send it again.",
        )
    turn, created = trainee_turn_submit(session_id=session_id, text=text, client_id=client_id)
    return session_events.turn_event(turn=turn), created


class PracticeSessionConsumer(AsyncJsonWebsocketConsumer):
    session_id: int
    group: str | None = None
    can_write = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        access = await _run(_QUICK, practice_session_access, user=user, session_id=self.session_id)
        if access is None:
            await self.close(code=4403)
            return
        self.can_write = access.can_write
        warm_up_in_background()
        if self.can_write:
            persona_warm_for(session=access.session)  # perf (bench): build the persona's indexes now
        self.group = session_group_name(self.session_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._resume(session=access.session)

    async def _resume(self, *, session) -> None:
        """A reply interrupted by a dropped connection: join it mid-stream, or regenerate it."""
        live = generation_live(session_id=self.session_id)
        if live is not None:
            await self.send_json({"type": "push", **session_events.reply_start_event(trainee_turn_id=live.turn_id, text=live.text)})
            return
        needed, steal_from = await _run(_QUICK, persona_reply_resume_needed, session=session)
        if needed and self.can_write:
            generation_spawn(layer=self.channel_layer, session_id=self.session_id, steal_from=steal_from)
        elif session.generating_for_turn_id and self.can_write:
            # Claimed elsewhere and alive (e.g. the voice worker); if it dies, take over later.
            _background_future(asyncio.create_task(self._resume_later()))

    async def _resume_later(self) -> None:
        await asyncio.sleep(STALE_S + 0.5)
        from simulations.models import PracticeSession

        session = await _run(_QUICK, lambda: PracticeSession.objects.get(pk=self.session_id))
        needed, steal_from = await _run(_QUICK, persona_reply_resume_needed, session=session)
        if needed:
            generation_spawn(layer=self.channel_layer, session_id=self.session_id, steal_from=steal_from)

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
        if not self.can_write:
            await self._error("read-only", "You are viewing this session read-only; only the trainee can send.", client_id)
            return
        if kind == "retry":
            generation_spawn(layer=self.channel_layer, session_id=self.session_id)
            return
        if kind != "turn":
            await self._error("bad-type", f"Unknown message type {str(kind)[:40]!r}.", client_id)
            return
        form = ChatMessageForm({"text": content.get("text"), "client_id": content.get("client_id")})
        if not isinstance(content.get("text"), str) or not form.is_valid():
            code = "too-long" if "text" in form.errors and len(str(content.get("text"))) > settings.CHAT_MESSAGE_MAX_CHARS else "invalid"
            await self._error(code, form.error_message() or "A message must be text.", client_id)
            return
        # The utterance is embedded (for the persona state) while the turn is stored.
        prefetch = asyncio.get_running_loop().run_in_executor(
            _STREAMS, functools.partial(utterance_vectors_prefetch, text=form.cleaned_data["text"])
        )
        try:
            event, _created = await _run(
                _QUICK,
                _submit,
                user_id=self.scope["user"].pk,
                session_id=self.session_id,
                text=form.cleaned_data["text"],
                client_id=form.cleaned_data["client_id"],
            )
        except TurnRejected as exc:
            await self._error(exc.code, exc.message, client_id)
            return
        # Stored and committed (turn_stored announced) before any reply is generated. The echo is
        # scheduled before the generation, so this process's pages get it first (its members are
        # served from memory before the send's first await); the generation does not wait for the
        # database lookup of members on other processes.
        _background_future(asyncio.ensure_future(self.channel_layer.group_send(self.group, {"type": "session.push", **event})))
        _background_future(prefetch)  # the reply reads the database meanwhile, then waits for these vectors
        # Also for a resend: a no-op when the turn has its reply or one is being generated.
        generation_spawn(layer=self.channel_layer, session_id=self.session_id)

    async def session_push(self, event: dict) -> None:
        with contextlib.suppress(Exception):
            await self.send_json(
                {"type": "push", "kind": event.get("kind", ""), "html": event.get("html", ""), "data": event.get("data", {})}
            )
