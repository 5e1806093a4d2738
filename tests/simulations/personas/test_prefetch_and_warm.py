"""Work taken off the reply's critical path: the utterance embedded while its turn is stored,
and every vector a first LLM reply needs (leak check, triggers) embedded before the first turn."""

from __future__ import annotations

import pytest

from simulations.personas import vectors
from simulations.personas.facts import persona_hidden_facts, persona_visible_facts
from simulations.personas.leak import leak_check_warm, reply_leak_check
from simulations.personas.prefetch import utterance_vectors_needed, utterance_vectors_prefetch
from simulations.personas.signals import utterance_signals
from simulations.personas.topics import persona_topic_match, script_index_warm
from tests.simulations.personas.persona_dicts import starter_persona


@pytest.fixture
def embed_calls(monkeypatch):
    calls: list[list[str]] = []
    real = vectors.embed_fast
    with vectors._lock:
        vectors._cache.clear()  # what earlier tests embedded must not make these pass

    def counting(texts):
        calls.append(list(texts))
        return real(texts)

    monkeypatch.setattr(vectors, "embed_fast", counting)
    return calls


def test_prefetch_leaves_nothing_for_the_state_update_to_embed(embed_calls):
    persona = starter_persona("cbt.yaml")
    script_index_warm(persona=persona)
    utterance_signals(text="Hi.", last_persona_text="Hello.")  # prototypes, once per process
    text = "I hear that the week was hard. What happened on Tuesday when you got home?"
    embed_calls.clear()
    utterance_vectors_prefetch(text=text)
    assert len(embed_calls) == 1 and text in embed_calls[0]
    embed_calls.clear()
    utterance_signals(text=text, last_persona_text="Hello.")
    persona_topic_match(persona=persona, text=text, history=[])
    assert embed_calls == []


def test_a_prefetch_is_needed_only_while_some_of_the_utterance_is_not_embedded(embed_calls):
    text = "So the week was hard. What happened on Wednesday when you got home? (e1c4)"
    assert utterance_vectors_needed(text=text)
    utterance_vectors_prefetch(text=text)
    assert not utterance_vectors_needed(text=text)  # cached: the runner hands nothing to a thread
    assert utterance_vectors_needed(text=text + " And after?")  # one new sentence is enough
    assert not utterance_vectors_needed(text="   ")
    assert len(embed_calls) == 1


def test_prefetch_never_raises(monkeypatch):
    def broken(texts):
        raise RuntimeError("model gone")

    monkeypatch.setattr(vectors, "embed_fast", broken)
    utterance_vectors_prefetch(text="A sentence no one embedded before, surely: 7f3a.")
    utterance_vectors_prefetch(text="   ")


def test_leak_check_warm_embeds_every_fact_view_for_any_level(embed_calls):
    persona = starter_persona("cbt.yaml")
    leak_check_warm(persona=persona)
    embed_calls.clear()
    reply = "I keep thinking about it."
    text_vectors_for_reply = vectors.text_vectors(texts=[reply])  # the reply's own sentence, embedded once
    assert text_vectors_for_reply.shape[0] == 1
    embed_calls.clear()
    for level in range(5):
        reply_leak_check(
            reply=reply,
            hidden_facts=persona_hidden_facts(persona=persona, level=level),
            visible_facts=persona_visible_facts(persona=persona, level=level),
            persona_name=str(persona.get("name", "")),
        )
    assert embed_calls == []


def test_a_text_being_embedded_is_waited_for_not_embedded_twice(monkeypatch):
    import threading

    with vectors._lock:
        vectors._cache.clear()
    started, release = threading.Event(), threading.Event()
    calls: list[list[str]] = []
    real = vectors.embed_fast

    def slow(texts):
        calls.append(list(texts))
        started.set()
        release.wait(5)
        return real(texts)

    monkeypatch.setattr(vectors, "embed_fast", slow)
    text = "Tell me more about what happened after the meeting."
    first = threading.Thread(target=utterance_vectors_prefetch, kwargs={"text": text})
    first.start()
    assert started.wait(5)
    result: list = []
    second = threading.Thread(target=lambda: result.append(vectors.text_vectors(texts=[text])))
    second.start()
    release.set()
    first.join(5)
    second.join(5)
    assert len(calls) == 1  # the second caller waited for the first call's vector
    assert result and result[0].shape == (1, 384)


def test_a_failed_embedding_is_not_left_in_flight(monkeypatch):
    with vectors._lock:
        vectors._cache.clear()

    def broken(texts):
        raise RuntimeError("model gone")

    monkeypatch.setattr(vectors, "embed_fast", broken)
    with pytest.raises(RuntimeError):
        vectors.text_vectors(texts=["a line nobody embedded"])
    assert vectors._inflight == {}


def test_reply_paths_warm_renders_partials_and_builds_llm_types_without_a_request(settings):
    from simulations.services.warm_up import _reply_paths_warm

    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens there: a request would fail
    settings.LLM_MODEL = "warm-model"
    _reply_paths_warm()
