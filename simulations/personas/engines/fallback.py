"""An engine that falls back to another when the first is unavailable.

Why: the design asks every engine to fall back to the embedded default when
its production backend cannot serve, and to say so on the health page. A
persona reply must not fail because the LLM server is down: the trainee gets
the scripted patient for that turn and the status shows the failure.
The switch happens only before the first chunk; after partial output the
error propagates (mixing two engines mid-sentence would read as nonsense).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from simulations.personas.engines.base import PersonaEngine, PersonaEngineUnavailable
from simulations.personas.state import PersonaState

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_last_failure: dict = {}


def persona_fallback_last_failure() -> dict:
    """{"at": epoch seconds, "message": str} of the latest primary failure, or {}."""
    with _lock:
        return dict(_last_failure)


def _record_failure(message: str) -> None:
    with _lock:
        _last_failure.update(at=time.time(), message=message)


def _record_success() -> None:
    with _lock:
        _last_failure.clear()


class FallbackPersonaEngine:
    def __init__(self, *, primary: PersonaEngine, fallback: PersonaEngine):
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self.production = primary.production
        # Set when this reply came from the fallback, so the session can tell the trainee.
        self.fallback_reason = ""

    def reply_stream(
        self,
        *,
        persona: dict,
        scenario: dict,
        state: PersonaState,
        history: list[dict],
        trainee_text: str,
        seed: int,
    ) -> Iterator[str]:
        kwargs = dict(
            persona=persona, scenario=scenario, state=state, history=history, trainee_text=trainee_text, seed=seed
        )
        started = False
        try:
            for chunk in self.primary.reply_stream(**kwargs):
                started = True
                yield chunk
            _record_success()
            return
        except PersonaEngineUnavailable as exc:
            _record_failure(exc.message)
            if started:
                raise
            logger.warning("persona engine %s unavailable, using %s: %s", self.primary.name, self.fallback.name, exc)
            self.fallback_reason = exc.message
            self.name = f"{self.fallback.name} (fallback from {self.primary.name})"
            self.production = False
        yield from self.fallback.reply_stream(**kwargs)
