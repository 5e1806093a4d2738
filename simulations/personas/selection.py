"""Which persona engine a session uses, and the "persona" health status.

LLM when configured (LLM_BASE_URL and LLM_MODEL) and not in exam mode,
wrapped so that an unreachable server falls back to the scripted engine;
scripted otherwise. Exam mode is always scripted: deterministic for a seed,
the same for every candidate.
"""

from __future__ import annotations

import threading

from simulations.personas.engines.base import PersonaEngine
from simulations.personas.engines.fallback import FallbackPersonaEngine, persona_fallback_last_failure
from simulations.personas.engines.llm import LlmConfig, LlmPersonaEngine, llm_config_from_settings
from simulations.personas.engines.scripted import ScriptedPersonaEngine
from trainer_app.engines.status import EngineStatus, register_engine

_scripted = ScriptedPersonaEngine()  # stateless apart from module caches: one is enough

# perf: one LLM engine (so one openai client: its httpx connection pool and TLS
# context) per configuration, reused by every reply; building a client per reply
# cost an SSL context and a new TCP connection each time. The engine holds no
# per-reply state (the FallbackPersonaEngine wrapper, which does, stays per reply).
_llm_engines_lock = threading.Lock()
_llm_engines: dict[LlmConfig, LlmPersonaEngine] = {}
_LLM_ENGINES_MAX = 8  # settings changing at runtime (tests) must not grow it forever


def llm_engine_for(config: LlmConfig) -> LlmPersonaEngine:
    """The shared LLM engine for ``config`` (base URL, key, model, timeout, retries)."""
    with _llm_engines_lock:
        engine = _llm_engines.get(config)
        if engine is None:
            if len(_llm_engines) >= _LLM_ENGINES_MAX:
                _llm_engines.pop(next(iter(_llm_engines)))
            engine = _llm_engines[config] = LlmPersonaEngine(config=config)
        return engine


def _unconfigured_reason() -> str:
    config = llm_config_from_settings()
    if not config.base_url:
        return "LLM_BASE_URL not set"
    if not config.model:
        return "LLM_MODEL not set"
    return ""


def persona_engine_for(*, scenario: dict, exam: bool) -> PersonaEngine:
    exam = exam or bool(((scenario or {}).get("modes") or {}).get("exam"))
    config = llm_config_from_settings()
    if exam or not config.configured:
        return _scripted
    return FallbackPersonaEngine(primary=llm_engine_for(config), fallback=_scripted)


def persona_engine_status() -> EngineStatus:
    reason = _unconfigured_reason()
    if reason:
        return EngineStatus("persona", "scripted", False, True, f"embedded scripted engine; {reason}")
    config = llm_config_from_settings()
    backend = f"openai-compatible {config.model} at {config.base_url}"
    failure = persona_fallback_last_failure()
    if failure:
        return EngineStatus(
            "persona", backend, True, False, f"last call failed, fell back to scripted: {failure['message']}"
        )
    return EngineStatus("persona", backend, True, True, "LLM configured (exam mode uses the scripted engine)")


register_engine("persona", persona_engine_status)
