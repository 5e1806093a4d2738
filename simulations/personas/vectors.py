"""A small LRU cache in front of the sentence-embedding engine.

Why: in one turn the same trainee utterance is embedded by the signal
detector, the scripted topic matcher and the trigger matcher, and the
persona's previous line again next turn. Embedding is the only costly step
(~5-10 ms per short text on CPU), so each distinct text is embedded once.

The vectors come from ``embed_fast`` (the model's 8-bit copy when the export made
one): every vector the persona compares comes from here, so they are never mixed
with the float vectors the feedback engines use.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from simulations.personas.vector_store import persona_vector_store
from trainer_app.engines.embeddings import EMBEDDING_DIM, embed_fast

_MAX_ENTRIES = 20000  # ~30 MB: every persona's fact views stay cached beside recent utterances
_WAIT_S = 10.0
_lock = threading.Lock()
_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_inflight: dict[str, Future] = {}  # text -> the embedding call computing it now


def text_vectors_pending(*, texts: Sequence[str]) -> bool:
    """Would ``text_vectors(texts=texts)`` embed anything (a text neither cached nor being embedded now)?"""
    with _lock:
        return any(text not in _cache and text not in _inflight for text in texts)


def text_vectors(*, texts: Sequence[str], persist: bool = False) -> np.ndarray:
    """L2-normalised float32 rows for ``texts`` (one embedding call for the misses).

    A text another thread is embedding right now is waited for, not embedded
    again (the reply thread finds the utterance the consumer is prefetching).
    A text missing here is looked up in the machine's persona vector store
    (``vector_store``) before it is embedded; ``persist``: keep what is embedded
    there (persona texts only: replies, authored lines; never trainee utterances)."""
    texts = list(texts)
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    found: dict[str, np.ndarray] = {}
    waiting: dict[str, Future] = {}
    mine: list[str] = []
    ours: Future = Future()
    with _lock:
        for text in dict.fromkeys(texts):
            if text in _cache:
                _cache.move_to_end(text)
                found[text] = _cache[text]
            elif text in _inflight:
                waiting[text] = _inflight[text]
            else:
                _inflight[text] = ours
                mine.append(text)
    if mine:
        try:
            computed = _vectors_stored_or_embedded(mine, persist=persist)
        except BaseException as exc:
            with _lock:
                for text in mine:
                    _inflight.pop(text, None)
            ours.set_exception(exc)
            raise
        with _lock:
            for text in mine:
                found[text] = _cache[text] = computed[text]
                _inflight.pop(text, None)
            while len(_cache) > _MAX_ENTRIES:
                _cache.popitem(last=False)
        ours.set_result(computed)
    for text, future in waiting.items():
        try:
            found[text] = future.result(timeout=_WAIT_S)[text]
        except Exception:  # the other thread failed or is stuck: embed it here
            found[text] = embed_fast([text])[0]
    return np.stack([found[t] for t in texts])


def _vectors_stored_or_embedded(texts: list[str], *, persist: bool) -> dict[str, np.ndarray]:
    """``texts``' vectors: those the store has (another process, an earlier run embedded them), the rest
    embedded in one call (and kept in the store when ``persist``)."""
    store = persona_vector_store()
    stored = store.get_many(texts) if store is not None else {}
    missing = [text for text in texts if text not in stored]
    if not missing:
        return stored
    embedded = dict(zip(missing, embed_fast(missing), strict=True))
    if persist and store is not None:
        store.put_many(embedded)
    return {**stored, **embedded}
