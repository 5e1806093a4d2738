"""Which engine a session gets, and what the health page says about it."""

from __future__ import annotations

from simulations.personas.engines.fallback import FallbackPersonaEngine
from simulations.personas.engines.scripted import ScriptedPersonaEngine
from simulations.personas.selection import persona_engine_for, persona_engine_status
from tests.simulations.personas.persona_dicts import scenario
from trainer_app.engines.status import engine_statuses


def test_scripted_when_no_llm_is_configured(settings):
    settings.LLM_BASE_URL = ""
    settings.LLM_MODEL = ""
    engine = persona_engine_for(scenario=scenario(), exam=False)
    assert isinstance(engine, ScriptedPersonaEngine)
    status = persona_engine_status()
    assert (status.engine, status.backend, status.production, status.ok) == ("persona", "scripted", False, True)
    assert "LLM_BASE_URL not set" in status.detail


def test_model_is_required_too(settings):
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"
    settings.LLM_MODEL = ""
    assert isinstance(persona_engine_for(scenario=scenario(), exam=False), ScriptedPersonaEngine)
    assert "LLM_MODEL not set" in persona_engine_status().detail


def test_llm_when_configured_with_scripted_fallback(settings, chat_server):
    settings.LLM_BASE_URL = chat_server.base_url
    settings.LLM_MODEL = "test-model"
    settings.LLM_TIMEOUT_S = 7
    settings.LLM_MAX_RETRIES = 1
    engine = persona_engine_for(scenario=scenario(), exam=False)
    assert isinstance(engine, FallbackPersonaEngine)
    assert (engine.name, engine.production) == ("llm", True)
    assert engine.primary.config.timeout_s == 7 and engine.primary.config.max_retries == 1
    assert isinstance(engine.fallback, ScriptedPersonaEngine)
    status = persona_engine_status()
    assert status.production and "test-model" in status.backend and chat_server.base_url in status.backend


def test_exam_mode_is_always_scripted(settings, chat_server):
    settings.LLM_BASE_URL = chat_server.base_url
    settings.LLM_MODEL = "test-model"
    assert isinstance(persona_engine_for(scenario=scenario(), exam=True), ScriptedPersonaEngine)
    exam_scenario = {**scenario(), "modes": {"exam": True}}
    assert isinstance(persona_engine_for(scenario=exam_scenario, exam=False), ScriptedPersonaEngine)


def test_status_is_registered_for_the_health_page(settings):
    settings.LLM_BASE_URL = ""
    assert "persona" in {s.engine for s in engine_statuses()}
