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


def text_vectors(*, texts: Sequence[str]) -> np.ndarray:
    """L2-normalised float32 rows for ``texts`` (one embedding call for the misses).

    A text another thread is embedding right now is waited for, not embedded
    again (the reply thread finds the utterance the consumer is prefetching)."""
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
            vectors = embed_fast(mine)
        except BaseException as exc:
            with _lock:
                for text in mine:
                    _inflight.pop(text, None)
            ours.set_exception(exc)
            raise
        with _lock:
            for text, vector in zip(mine, vectors, strict=True):
                found[text] = _cache[text] = vector
                _inflight.pop(text, None)
            while len(_cache) > _MAX_ENTRIES:
                _cache.popitem(last=False)
        ours.set_result(dict(zip(mine, vectors, strict=True)))
    for text, future in waiting.items():
        try:
            found[text] = future.result(timeout=_WAIT_S)[text]
        except Exception:  # the other thread failed or is stuck: embed it here
            found[text] = embed_fast([text])[0]
    return np.stack([found[t] for t in texts])
