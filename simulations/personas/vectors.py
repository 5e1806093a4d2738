"""A small LRU cache in front of the sentence-embedding engine.

Why: in one turn the same trainee utterance is embedded by the signal
detector, the scripted topic matcher and the trigger matcher, and the
persona's previous line again next turn. Embedding is the only costly step
(~5-10 ms per short text on CPU), so each distinct text is embedded once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from trainer_app.engines.embeddings import EMBEDDING_DIM, embed

_MAX_ENTRIES = 20000  # ~30 MB: every persona's fact views stay cached beside recent utterances
_lock = threading.Lock()
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


def text_vectors(*, texts: Sequence[str]) -> np.ndarray:
    """L2-normalised float32 rows for ``texts`` (one embedding call for the misses)."""
    texts = list(texts)
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    found: dict[str, np.ndarray] = {}
    with _lock:
        for text in dict.fromkeys(texts):
            if text in _cache:
                _cache.move_to_end(text)
                found[text] = _cache[text]
    missing = [t for t in dict.fromkeys(texts) if t not in found]
    if missing:
        vectors = embed(missing)
        with _lock:
            for text, vector in zip(missing, vectors, strict=True):
                found[text] = _cache[text] = vector
            while len(_cache) > _MAX_ENTRIES:
                _cache.popitem(last=False)
    return np.stack([found[t] for t in texts])


def text_vector(*, text: str) -> np.ndarray:
    return text_vectors(texts=[text])[0]
