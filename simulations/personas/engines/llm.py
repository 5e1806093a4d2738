"""LLM persona engine: any OpenAI-compatible chat-completions server, streamed.

Prompt: ``simulations.personas.prompt`` (only facts released at the session's
level; the model cannot leak what it was never sent).

Leak check and streaming. Every reply is checked before the trainee sees it,
sentence by sentence: deltas are buffered until a sentence ends, the sentence
is checked (``reply_leak_check``: hidden facts, instruction echo, out of
character), and only then are its deltas yielded. Why per sentence: yielding
raw tokens would put a leak on the screen before it could be caught, and
buffering the whole reply would cost the whole generation time before the
first word. A sentence is the smallest unit the check can judge (meaning
needs a clause) and the first one arrives early. On a leak the stream is
closed, the offending sentence and everything after it are dropped, and an
in-character deflection is yielded instead; sentences already yielded had
passed the same check. For a leak in the first sentence the whole reply is
the deflection.

Errors. Transient failures (connection refused/reset, timeouts, 429, 5xx)
are retried up to ``max_retries`` times with a short exponential backoff, but
only while nothing has been yielded (a retry after partial output would
repeat words). Other 4xx (bad key, unknown model, bad request) are not
retried. Both end in ``PersonaEngineUnavailable`` with a message naming the
server and the cause.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import openai

from simulations.personas.engines.base import PersonaEngineUnavailable
from simulations.personas.facts import persona_hidden_facts, persona_visible_facts
from simulations.personas.leak import reply_leak_check
from simulations.personas.lines import DEFLECT_LINES
from simulations.personas.prompt import PROMPT_HISTORY_TURNS, persona_prompt_messages, persona_prompt_parts
from simulations.personas.signals import utterance_signals
from simulations.personas.state import PersonaState
from simulations.personas.triggers import TriggerHits, persona_triggers_hit

logger = logging.getLogger(__name__)

# A sentence ends at . ! ? … (optionally closed by a quote/bracket) followed by
# whitespace, or at a newline. Long run-ons are flushed at a clause boundary so
# the first chunk never waits for a 60-word sentence.
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s+|\n+")
_LONG_SENTENCE_CHARS = 240
_CLAUSE_BREAK = re.compile(r"[,;:]\s+")
MAX_REPLY_TOKENS = 300


@dataclass(frozen=True)
class LlmConfig:
    base_url: str = ""
    api_key: str = ""
    model: str = ""
    timeout_s: float = 30.0
    max_retries: int = 2

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)


def llm_config_from_settings() -> LlmConfig:
    """Read LLM_* lazily (at call time) so tests and settings changes take effect."""
    try:
        from django.conf import settings

        get = lambda name, default: getattr(settings, name, default)  # noqa: E731
        get("DEBUG", None)  # raises ImproperlyConfigured outside Django
    except Exception:  # scripts and tests without Django settings
        get = lambda name, default: os.environ.get(name, default)  # noqa: E731
    return LlmConfig(
        base_url=str(get("LLM_BASE_URL", "") or ""),
        api_key=str(get("LLM_API_KEY", "") or ""),
        model=str(get("LLM_MODEL", "") or ""),
        timeout_s=float(get("LLM_TIMEOUT_S", 30) or 30),
        max_retries=int(get("LLM_MAX_RETRIES", 2) or 0),
    )


def _transient(exc: Exception) -> bool:
    if isinstance(exc, openai.APIConnectionError | openai.RateLimitError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500
    # Transport errors raised while iterating a stream are not wrapped by the SDK.
    return type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore") or isinstance(
        exc, ConnectionError | TimeoutError
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, openai.APIStatusError):
        body = (exc.message or "").strip()
        return f"HTTP {exc.status_code}: {body[:200]}"
    if isinstance(exc, openai.APITimeoutError):
        return "timed out"
    if isinstance(exc, openai.APIConnectionError) and exc.__cause__ is not None:
        return f"connection failed: {exc.__cause__}"
    return f"{type(exc).__name__}: {exc}"


def _split_sentences(buffer: str) -> tuple[list[str], str]:
    """Complete sentences at the front of ``buffer`` and the incomplete rest."""
    sentences: list[str] = []
    while True:
        match = _SENTENCE_END.search(buffer)
        if match:
            sentences.append(buffer[: match.end()])
            buffer = buffer[match.end() :]
            continue
        if len(buffer) > _LONG_SENTENCE_CHARS:
            breaks = list(_CLAUSE_BREAK.finditer(buffer))
            if breaks:
                cut = breaks[-1].end()
                sentences.append(buffer[:cut])
                buffer = buffer[cut:]
                continue
        return sentences, buffer


def _take_chars(deltas: list[str], count: int) -> tuple[list[str], list[str]]:
    """Split ``deltas`` after ``count`` characters: (taken, remaining), cutting one delta if needed."""
    taken: list[str] = []
    for i, delta in enumerate(deltas):
        if count <= 0:
            return taken, deltas[i:]
        if len(delta) <= count:
            taken.append(delta)
            count -= len(delta)
        else:
            return [*taken, delta[:count]], [delta[count:], *deltas[i + 1 :]]
    return taken, []


def _deflection(*, persona: dict, state: PersonaState, seed: int) -> str:
    lines = DEFLECT_LINES.get(state.mood) or DEFLECT_LINES["neutral"]
    digest = hashlib.sha256(f"{seed}:{state.turn_count}:deflect:{persona.get('slug', '')}".encode()).digest()
    return lines[digest[0] % len(lines)]


class LlmPersonaEngine:
    name = "llm"
    production = True

    def __init__(self, *, config: LlmConfig, history_turns: int = PROMPT_HISTORY_TURNS, backoff_s: float = 0.25):
        self.config = config
        self.history_turns = history_turns
        self.backoff_s = backoff_s
        # Retries are ours (transient only, never after output); the SDK's own are off.
        self._client = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key or "not-needed",  # local servers (vLLM, Ollama) accept any key
            timeout=config.timeout_s,
            max_retries=0,
        )

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
        last_persona = next((h.get("text", "") for h in reversed(history or []) if h.get("speaker") == "persona"), "")
        signals = utterance_signals(text=trainee_text, last_persona_text=last_persona)
        reactions = (
            persona_triggers_hit(persona=persona, text=trainee_text) if persona.get("partner") else TriggerHits()
        )
        parts = persona_prompt_parts(
            persona=persona, scenario=scenario, state=state, reactions=reactions, jailbreak=signals.jailbreak >= 0.5
        )
        messages = persona_prompt_messages(
            parts=parts, history=history, trainee_text=trainee_text, history_turns=self.history_turns
        )
        hidden = persona_hidden_facts(persona=persona, level=state.level)
        visible = persona_visible_facts(persona=persona, level=state.level)

        def leaks(text: str) -> list[str]:
            return reply_leak_check(
                reply=text,
                hidden_facts=hidden,
                visible_facts=visible,
                instructions=parts.instructions,
                persona_name=str(persona.get("name", "")),
            )

        said: list[str] = []  # sentences already yielded (clean)
        pending: list[str] = []  # deltas not yet yielded, in arrival order
        buffer = ""  # their text
        deltas = self._deltas(messages=messages, seed=seed, started=lambda: bool(said))
        try:
            for delta in deltas:
                if delta is None:  # the server is being retried: drop the failed attempt's partial text
                    pending, buffer = [], ""
                    continue
                pending.append(delta)
                buffer += delta
                sentences, rest = _split_sentences(buffer)
                if not sentences:
                    continue
                # Check the new sentence(s) together with the previous one, so a fact split across two is seen.
                reasons = leaks(" ".join([*said[-1:], *sentences]))
                if reasons:
                    logger.warning("persona %s: leak caught, deflecting: %s", persona.get("slug"), "; ".join(reasons))
                    yield self._deflection_chunk(persona=persona, state=state, seed=seed, after=bool(said))
                    return
                ready, pending = _take_chars(pending, len(buffer) - len(rest))
                yield from ready  # the checked text, in the token-sized pieces it arrived in
                said.extend(sentences)
                buffer = rest
        finally:
            deltas.close()  # stop reading the server when we stop early (leak, consumer gone)
        if buffer.strip():
            reasons = leaks(" ".join([*said[-1:], buffer]))
            if reasons:
                logger.warning("persona %s: leak caught, deflecting: %s", persona.get("slug"), "; ".join(reasons))
                yield self._deflection_chunk(persona=persona, state=state, seed=seed, after=bool(said))
                return
            yield from pending
            said.append(buffer)
        if not "".join(said).strip():  # an empty completion: stay in the conversation
            yield _deflection(persona=persona, state=state, seed=seed)

    @staticmethod
    def _deflection_chunk(*, persona: dict, state: PersonaState, seed: int, after: bool) -> str:
        line = _deflection(persona=persona, state=state, seed=seed)
        return f" {line}" if after else line

    def _deltas(self, *, messages: list[dict], seed: int, started) -> Iterator[str | None]:
        """Content deltas of one completion, retrying transient failures while nothing was yielded.

        Yields ``None`` before a retry whose predecessor had already produced
        (buffered, unyielded) text, so the caller discards it.
        """
        attempts = 1 + max(0, self.config.max_retries)
        where = f"persona LLM at {self.config.base_url} (model {self.config.model})"
        for attempt in range(1, attempts + 1):
            stream = None
            produced = False
            try:
                stream = self._client.chat.completions.create(
                    model=self.config.model,
                    messages=messages,
                    stream=True,
                    temperature=0.8,
                    max_tokens=MAX_REPLY_TOKENS,
                    seed=seed,
                )
                for chunk in stream:
                    if not chunk.choices:
                        continue
                    content = chunk.choices[0].delta.content
                    if content:
                        produced = True
                        yield content
                return
            except PersonaEngineUnavailable:
                raise
            except Exception as exc:
                if not _transient(exc):
                    raise PersonaEngineUnavailable(
                        f"{where} refused the request ({_describe(exc)}); not retried"
                    ) from exc
                if started():
                    raise PersonaEngineUnavailable(f"{where} failed mid-reply ({_describe(exc)})") from exc
                if attempt >= attempts:
                    raise PersonaEngineUnavailable(
                        f"{where} unreachable after {attempts} attempt{'s' if attempts > 1 else ''} ({_describe(exc)})"
                    ) from exc
                delay = self.backoff_s * (2 ** (attempt - 1)) * (0.5 + random.random() / 2)
                logger.info("%s: attempt %d failed (%s); retrying in %.2fs", where, attempt, _describe(exc), delay)
                time.sleep(delay)
                if produced:
                    yield None
            finally:
                if stream is not None:
                    stream.close()  # also when the consumer stops early: frees the connection
