"""The persona engine interface shared by every backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from simulations.personas.state import PersonaState


class PersonaEngineUnavailable(Exception):  # noqa: N818 - the name the rest of the app uses
    """The engine cannot produce a reply (server unreachable, request refused...).

    ``str(exc)`` is a clear, operator-facing message: what failed and why.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@runtime_checkable
class PersonaEngine(Protocol):
    name: str  # backend name for logs and the health page ("scripted", "llm")
    production: bool  # True for the production backend, False for the embedded default

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
        """Yield the persona's reply in chunks, in order; their concatenation is the reply.

        ``state`` is the state *after* the trainee's turn has been applied;
        ``history`` holds earlier turns, oldest first, as
        ``{"speaker": "trainee" | "persona", "text": ...}`` (not ``trainee_text``).
        """
        ...
