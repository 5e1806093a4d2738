"""Turning (utterance, context) pairs into the model's feature matrices.

Shared by training and inference so both see exactly the same features.
Embeddings are passed in (not computed here) so callers can batch and cache them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from feedback.engines.behaviour_coding.features import context_previous_texts, lexical_features


@dataclass
class CodingInput:
    utterance: str
    previous_client: str
    previous_trainee: str
    turn_index: int  # how many turns came before: openings and closings look different


def coding_input_build(*, utterance: str, context: list[dict]) -> CodingInput:
    client, trainee = context_previous_texts(context=context)
    return CodingInput(
        utterance=utterance, previous_client=client, previous_trainee=trainee, turn_index=len(context or [])
    )


def lexical_matrix_build(*, inputs: Sequence[CodingInput]) -> np.ndarray:
    rows = [
        np.append(
            lexical_features(utterance=item.utterance, previous_client=item.previous_client),
            math.log1p(item.turn_index),
        )
        for item in inputs
    ]
    return np.vstack(rows).astype(np.float32)


def texts_needed(*, inputs: Sequence[CodingInput]) -> list[str]:
    """Every distinct text that must be embedded for these inputs (empty context turns need none)."""
    seen: dict[str, None] = {}
    for item in inputs:
        for text in (item.utterance, item.previous_client, item.previous_trainee):
            if text:
                seen.setdefault(text, None)
    return list(seen)


def dense_matrix_build(
    *, inputs: Sequence[CodingInput], lexical_scaled: np.ndarray, vector_of: Callable[[str], np.ndarray]
) -> np.ndarray:
    """Utterance, previous client and previous trainee embeddings, their similarities, and the scaled cues."""
    utterance = np.vstack([vector_of(item.utterance) for item in inputs])
    client = np.vstack([vector_of(item.previous_client) for item in inputs])
    trainee = np.vstack([vector_of(item.previous_trainee) for item in inputs])
    # Reflections re-say the client's words, so closeness to the client's turn is a strong cue.
    client_similarity = (utterance * client).sum(axis=1, keepdims=True)
    trainee_similarity = (utterance * trainee).sum(axis=1, keepdims=True)
    return np.hstack([utterance, client, trainee, client_similarity, trainee_similarity, lexical_scaled]).astype(
        np.float32
    )


def sparse_matrix_build(*, inputs: Sequence[CodingInput], lexical_scaled: np.ndarray, vectorizers) -> sp.csr_matrix:
    texts = [item.utterance for item in inputs]
    word, char = vectorizers
    return sp.hstack([word.transform(texts), char.transform(texts), sp.csr_matrix(lexical_scaled)]).tocsr()
