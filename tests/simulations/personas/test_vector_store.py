"""The persona's vectors kept on disk (``vector_store``): a text embedded by one process is read back
by another (here: this process with its in-memory cache emptied) as the very vector computing it again
gives, never for another model's vectors, and never for what the trainee says."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from simulations.personas import vector_store, vectors
from simulations.personas.engines.scripted import scripted_reply
from simulations.personas.signals import _signals_compute
from simulations.personas.state import persona_state_initial
from simulations.personas.vector_store import VectorStore, persona_vector_store
from simulations.services.persona_replies import _reply_vector_warm
from tests.simulations.personas.persona_dicts import starter_persona
from trainer_app.engines import embeddings
from trainer_app.engines.embeddings import EMBEDDING_DIM, embed_fast


def _memory_forget() -> None:
    """What another process (or this one after a restart) starts with: nothing in memory."""
    with vectors._lock:
        vectors._cache.clear()


@pytest.fixture
def store_on(settings, tmp_path, monkeypatch):
    settings.PERSONA_VECTOR_STORE = True
    settings.EMBEDDINGS_CACHE_DIR = tmp_path  # the store's file only: the model's export is already loaded
    monkeypatch.setenv("EMBEDDINGS_CACHE_DIR", str(tmp_path))
    vector_store.persona_vector_stores_forget()
    embed_fast([""])  # the encoder built before the store names it
    _memory_forget()
    calls: list[list[str]] = []
    real = vectors.embed_fast

    def counting(texts):
        calls.append(list(texts))
        return real(texts)

    monkeypatch.setattr(vectors, "embed_fast", counting)
    yield calls
    vector_store.persona_vector_stores_forget()
    _memory_forget()


def test_a_kept_text_is_read_back_as_the_vector_computing_it_gives(store_on):
    text = "Of course. Work's been busy, and I'm sleeping badly. (vs-1)"
    first = vectors.text_vectors(texts=[text], persist=True)[0]
    assert store_on == [[text]]
    _memory_forget()
    store_on.clear()
    again = vectors.text_vectors(texts=[text])[0]
    assert store_on == []  # read from the store, not embedded
    assert again.dtype == np.float32 and np.array_equal(again, first)
    assert np.array_equal(again, embed_fast([text])[0])  # what a fresh computation gives, to the bit


def test_only_persisted_texts_are_kept(store_on):
    utterance = "I think you should just stop drinking. (vs-2)"
    vectors.text_vectors(texts=[utterance])  # a trainee's utterance: persist=False
    _memory_forget()
    store_on.clear()
    vectors.text_vectors(texts=[utterance])
    assert store_on == [[utterance]]
    assert persona_vector_store().get_many([utterance]) == {}


def test_a_mixed_ask_embeds_only_what_the_store_lacks(store_on):
    kept, new = "Like I said, it's fine. (vs-3)", "Tell me about Tuesday. (vs-3)"
    vectors.text_vectors(texts=[kept], persist=True)
    _memory_forget()
    store_on.clear()
    rows = vectors.text_vectors(texts=[new, kept])
    assert store_on == [[new]]
    assert np.array_equal(rows[1], embed_fast([kept])[0]) and np.array_equal(rows[0], embed_fast([new])[0])


def test_another_models_vectors_are_never_read(store_on, monkeypatch):
    text = "Honestly? I don't know why that matters, but okay. (vs-4)"
    vectors.text_vectors(texts=[text], persist=True)
    monkeypatch.setattr(embeddings, "embed_fast_identity", lambda: "another-model:model.onnx")
    vector_store.persona_vector_stores_forget()
    _memory_forget()
    store_on.clear()
    vectors.text_vectors(texts=[text])
    assert store_on == [[text]]


def test_no_store_when_the_vectors_cannot_be_named_or_it_is_off(store_on, settings, monkeypatch):
    monkeypatch.setattr(embeddings, "embed_fast_identity", lambda: "")
    vector_store.persona_vector_stores_forget()
    assert persona_vector_store() is None
    settings.PERSONA_VECTOR_STORE = False
    vector_store.persona_vector_stores_forget()
    assert persona_vector_store() is None
    text = "Fine. (vs-5)"
    vectors.text_vectors(texts=[text], persist=True)  # still embedded and cached in memory
    assert store_on == [[text]]


def test_the_scripted_reply_is_kept_and_the_next_turns_signals_are_unchanged(store_on):
    """The path the store is for: the persona's shaped reply kept after it was sent; another process
    scoring the next trainee turn against it gets the signals of a fresh computation."""
    persona = starter_persona("cbt.yaml")
    scenario = {"style": "pleasing", "opening_line": "Hi."}
    state = persona_state_initial(persona=persona, scenario=scenario)
    reply, _ = scripted_reply(persona=persona, scenario=scenario, state=state, history=[],
                              trainee_text="How has work been this week?", seed=3)
    assert reply
    _reply_vector_warm(reply, persist=True)
    assert persona_vector_store().get_many([reply])
    trainee = "So work has been a lot this week, it sounds like you're stretched."
    _memory_forget()
    store_on.clear()
    from_store = _signals_compute(text=trainee, last=reply)
    assert [reply] not in store_on  # the reply's vector came from the store
    with vectors._lock:
        vectors._cache.clear()
    fresh = _signals_compute(text=trainee, last=reply)
    assert from_store == fresh


def test_the_file_keeps_at_most_max_rows_the_oldest_go(tmp_path):
    store = VectorStore(path=tmp_path / "v.sqlite3", dim=EMBEDDING_DIM, max_rows=3)
    for i in range(5):
        store.put_many({f"t{i}": np.full(EMBEDDING_DIM, i, dtype=np.float32)})
    store.trim()
    assert len(store) == 3
    kept = store.get_many([f"t{i}" for i in range(5)])
    assert sorted(kept) == ["t2", "t3", "t4"]
    assert np.array_equal(kept["t4"], np.full(EMBEDDING_DIM, 4, dtype=np.float32))
    store.put_many({"t4": np.zeros(EMBEDDING_DIM, dtype=np.float32)})  # a kept text keeps its first vector
    assert store.get_many(["t4"])["t4"][0] == 4


def test_a_locked_or_broken_file_answers_nothing_and_never_raises(tmp_path):
    path = tmp_path / "v.sqlite3"
    store = VectorStore(path=path, dim=EMBEDDING_DIM, max_rows=10)
    store.put_many({"a": np.ones(EMBEDDING_DIM, dtype=np.float32)})
    other = sqlite3.connect(str(path), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process writing
    try:
        store.put_many({"b": np.ones(EMBEDDING_DIM, dtype=np.float32)})  # gives up after its busy timeout
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "b" not in store.get_many(["b"])
    store.put_many({"bad": np.ones(3, dtype=np.float32)})  # a wrong shape is not kept
    assert store.get_many(["bad"]) == {}
    other = sqlite3.connect(str(path), isolation_level=None)
    other.execute("DROP TABLE vector")  # a file some other version left, or damaged
    other.close()
    assert store.get_many(["a"]) == {}
    store.put_many({"c": np.ones(EMBEDDING_DIM, dtype=np.float32)})
    store.trim()


def test_a_store_that_cannot_open_is_none_and_vectors_are_embedded(store_on, tmp_path, settings):
    settings.EMBEDDINGS_CACHE_DIR = tmp_path / "a-file"
    (tmp_path / "a-file").write_text("not a directory")
    vector_store.persona_vector_stores_forget()
    assert persona_vector_store() is None
    text = "Anyway, funny thing. (vs-6)"
    assert vectors.text_vectors(texts=[text], persist=True).shape == (1, EMBEDDING_DIM)
