"""One forward pass for an utterance and its clauses.

Embedding the utterance and each clause as separate texts costs one model
pass per text; on a 2-core CPU that blows the live-feedback budget. With
mean pooling (all-MiniLM-L6-v2 and most sentence-transformers models), the
sentence vector is the mean of its token vectors, so clause vectors can be
pooled from the same pass: the tokens whose characters fall in the clause.
Clause vectors are therefore contextual (they "know" the rest of the
sentence), which is what evidence selection needs. Models that do not pool
by mean fall back to embedding every text.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np

from trainer_app.engines.embeddings import embed, embed_one, embed_tokens, pools_by_mean

logger = logging.getLogger(__name__)


def _normalised(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-9)).astype(np.float32)


def embed_with_spans(*, text: str, spans: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(vector of ``text``, one vector per span); spans are substrings of ``text``."""
    if not spans:
        vector = embed_one(text)
        return vector, np.zeros((0, vector.shape[0]), dtype=np.float32)
    if not pools_by_mean():
        vectors = embed([text, *spans])
        return vectors[0], vectors[1:]
    try:
        sentence, tokens, offsets = embed_tokens(text)
        if len(offsets) != len(tokens):
            raise ValueError(f"{len(offsets)} offsets for {len(tokens)} token vectors")
    except Exception as exc:  # a model with a different output layout: correct but slower
        logger.debug("span pooling unavailable (%s); embedding spans separately", exc)
        vectors = embed([text, *spans])
        return vectors[0], vectors[1:]
    span_vectors = []
    for span in spans:
        start = text.find(span)
        end = start + len(span)
        chosen = [i for i, (a, b) in enumerate(offsets) if b > a and a >= start and b <= end] if start >= 0 else []
        span_vectors.append(_normalised(tokens[chosen].mean(axis=0)) if chosen else _normalised(sentence))
    return _normalised(sentence), np.vstack(span_vectors)


@lru_cache(maxsize=512)
def _cached_vector(text: str) -> bytes:
    return embed_one(text).tobytes()


def embed_cached(*, text: str) -> np.ndarray:
    """Context lines recur (every framework assesses the same turn): embed once."""
    return np.frombuffer(_cached_vector(text), dtype=np.float32)
