"""Warming the persona engines of a web process, behind one start-up hook.

Why: the first utterance of a process loads the sentence-embedding model
(seconds), and the scripted engine builds each persona's indexes lazily on its
first reply (every authored line embedded: 0.5-3 s per persona on 2 busy cores).
Paid by the first trainees, that is several seconds before their first reply.

When:
- ``engines_warm_up()`` runs once per web process from the ASGI lifespan
  start-up (``trainer_app/asgi.py``), when ``settings.ENGINES_WARM_ON_START`` is
  on (``manage.py serve`` and the Procfile turn it on). The server does not take
  requests, ``/healthz`` included, until it has finished: a process never reports
  healthy with cold engines.
- ``persona_warm_for(session=...)`` on a websocket connect (processes started
  without the hook, e.g. tests): queues the session's persona build on this
  module's single build thread; the session's first generation waits for a
  build in progress (``persona_ready``) instead of building it a second time.

Nothing here starts a thread at import: the build pool's thread is created on
its first submit.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import close_old_connections

logger = logging.getLogger(__name__)

_builds = ThreadPoolExecutor(max_workers=1, thread_name_prefix="persona-warm")  # threads start on first submit
_lock = threading.Lock()
_version_builds: dict[int, Future] = {}  # scenario version id -> its build
_session_builds: dict[int, Future] = {}  # session id -> its version's build, until its first generation
warmed = threading.Event()  # set once engines_warm_up() has finished in this process


def _persona_warm(*, persona: dict, scenario: dict, exam: bool) -> None:
    from simulations.personas import topics
    from simulations.personas.engines import scripted
    from simulations.personas.selection import persona_engine_for
    from simulations.personas.state import persona_state_initial

    # The topic index serves every engine (the persona state update matches topics);
    # the scripted engine also indexes every authored line, then a throw-away reply
    # builds anything else it caches.
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


def _persona_build(*, version, exam: bool = False) -> Future:
    with _lock:
        future = _version_builds.get(version.pk)
        if future is None:
            future = _builds.submit(
                _persona_warm_safe, version_id=version.pk, persona=version.persona_data,
                scenario=version.scenario_data, exam=exam,
            )
            _version_builds[version.pk] = future
        return future


def persona_warm_for(*, session) -> None:
    """Build the session's persona indexes in the background (once per scenario version)."""
    future = _persona_build(version=session.scenario_version, exam=session.exam)
    if not future.done():
        with _lock:
            _session_builds[session.pk] = future


def persona_ready(*, session_id: int, timeout: float = 60.0) -> None:
    """Before a session's first generation: wait for its persona build if one is running.
    A build still queued behind others is not waited for (the reply builds what it needs)."""
    with _lock:
        future = _session_builds.pop(session_id, None)
    if future is not None and future.running():
        with contextlib.suppress(Exception):
            future.result(timeout=timeout)


def _embeddings_warm() -> None:
    from simulations.personas.signals import utterance_signals

    utterance_signals(text="Hello, how are you?", last_persona_text="Hi.")


def _reply_paths_warm() -> None:
    """What a process's first reply would otherwise pay for: compiling the session partials
    (Django's cached template loader compiles on first use) and, with an LLM configured,
    building the openai SDK's chunk type (pydantic builds its validators on first use)."""
    from simulations.models import Turn
    from simulations.personas.engines.llm import llm_config_from_settings
    from simulations.services import session_events

    turn = Turn(pk=0, index=0, speaker=Turn.Speaker.TRAINEE, text="Hello.", source=Turn.Source.TEXT)
    session_events.turn_event(turn=turn)
    session_events.reply_start_event(trainee_turn_id=0)
    session_events.notice_event(message="Warming up.", retry=True)
    if llm_config_from_settings().configured:
        from openai.types.chat import ChatCompletionChunk

        ChatCompletionChunk.model_validate({
            "id": "warm", "object": "chat.completion.chunk", "created": 0, "model": "warm",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi."}, "finish_reason": None}],
        })


def engines_warm_up() -> None:
    """Load the models and build every playable scenario's persona indexes (the start-up hook)."""
    from simulations.models import Scenario
    from simulations.selectors.scenario_versions import scenario_version_cached
    from trainer_app.gc_tuning import gc_freeze_after_warm_up

    started = time.monotonic()
    try:
        _embeddings_warm()
    except Exception:
        logger.exception("embedding warm-up failed (the first reply will be slower)")
    close_old_connections()
    try:
        # The reply runner's own copies (read once per process): the indexes are built, and the scripts
        # hashed, for the very persona dicts the first replies use.
        versions = [scenario_version_cached(version_id=s.current_version_id)
                    for s in Scenario.objects.filter(is_archived=False, current_version__isnull=False)]
    except Exception:
        logger.exception("persona warm-up: could not list scenarios")
        versions = []
    finally:
        close_old_connections()
    for future in [_persona_build(version=v) for v in versions]:
        future.result()
    try:
        _reply_paths_warm()
    except Exception:
        logger.exception("reply path warm-up failed (the first reply will be slower)")
    gc_freeze_after_warm_up()
    warmed.set()
    logger.info("persona indexes warm: %d scenario versions in %.1f s", len(versions), time.monotonic() - started)
