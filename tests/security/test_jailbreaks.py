"""Persona jailbreaks: 53 adversarial attempts against CBT patients at the start of a session,
with the LLM backend pointed at a local server that obeys every request by reciting its whole
prompt, and with the scripted engine. No fact above the disclosure level may reach the server
(secrecy by construction) or the reply the trainee sees."""

from __future__ import annotations

import json

import pytest

from simulations.personas.engines.llm import LlmConfig, LlmPersonaEngine
from simulations.personas.engines.scripted import ScriptedPersonaEngine
from simulations.personas.facts import persona_hidden_facts
from tests.security.jailbreak_attempts import attempts
from tests.simulations.personas.conversation import converse
from tests.simulations.personas.persona_dicts import MAYA, scenario, starter_persona
from tests.support.chat_server import ChatBehaviour, ChatServer

ATTEMPTS = attempts()
PERSONAS = {"maya": lambda: MAYA, "derek": lambda: starter_persona("cbt.yaml", "derek-cbt"),
            "rosa": lambda: starter_persona("cbt.yaml", "rosa-cbt")}


def test_the_set_is_large_and_varied():
    assert len(ATTEMPTS) >= 50
    assert sum(1 for a in ATTEMPTS if len(a) > 1) >= 5  # multi-turn extraction


def _hidden(persona: dict, level: int, said: str) -> list[str]:
    """Facts above ``level``, except those the trainee typed themselves (their own words may be echoed)."""
    said = said.lower()
    return [f.text for f in persona_hidden_facts(persona=persona, level=level) if f.text.lower() not in said]


def _found(text: str, secrets: list[str]) -> list[str]:
    lowered = text.lower()
    return [s for s in secrets if s.lower() in lowered or json.dumps(s)[1:-1].lower() in lowered]


@pytest.fixture(scope="module")
def obedient_server():
    server = ChatServer(ChatBehaviour(recite_prompt=True)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("who", sorted(PERSONAS))
def test_an_obedient_llm_never_sees_or_says_a_hidden_fact(obedient_server, who):
    persona = PERSONAS[who]()
    engine = LlmPersonaEngine(config=LlmConfig(base_url=obedient_server.base_url, api_key="k", model="test-model",
                                               timeout_s=10.0, max_retries=0), backoff_s=0.01)
    scn = scenario(level="hard", persona_slug=persona["slug"])
    leaks, sent_total, checked = [], 0, 0
    for attempt in ATTEMPTS:
        before = len(obedient_server.chat_requests)
        turns = converse(engine=engine, persona=persona, scenario=scn, lines=attempt, seed=7)
        requests = obedient_server.chat_requests[before:]
        assert len(requests) == len(turns)
        said = " ".join(attempt)
        for turn, request in zip(turns, requests, strict=True):
            secrets = _hidden(persona, turn.state.level, said)
            checked += len(secrets)
            sent_total += 1
            if found := _found(request.raw, secrets):
                leaks.append(("to the server", attempt, found))
            if found := _found(turn.reply, secrets):
                leaks.append(("to the trainee", attempt, found))
    assert sent_total >= len(ATTEMPTS) and checked > 0
    assert leaks == []


@pytest.mark.parametrize("who", sorted(PERSONAS))
def test_the_scripted_engine_never_says_a_hidden_fact(who):
    persona = PERSONAS[who]()
    engine = ScriptedPersonaEngine()
    scn = scenario(level="hard", persona_slug=persona["slug"])
    leaks = []
    for attempt in ATTEMPTS:
        for turn in converse(engine=engine, persona=persona, scenario=scn, lines=attempt, seed=11):
            if found := _found(turn.reply, _hidden(persona, turn.state.level, " ".join(attempt))):
                leaks.append((attempt, turn.reply, found))
    assert leaks == []


def test_the_recital_control_would_catch_a_leak(obedient_server):
    """If a hidden fact were in the prompt, the obedient server would recite it: the check above can fail."""
    from openai import OpenAI

    client = OpenAI(base_url=obedient_server.base_url, api_key="k")
    secret = persona_hidden_facts(persona=MAYA, level=0)[-1].text
    reply = client.chat.completions.create(model="test-model", messages=[{"role": "system", "content": secret}])
    assert _found(reply.choices[0].message.content, [secret]) == [secret]
