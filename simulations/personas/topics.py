"""Match a trainee utterance to a persona's script topics by sentence
embeddings (the scripted engine's ears, also usable to fill
``PersonaState.topics_covered`` with any engine).

The prompt vectors are embedded once per persona content: cached by persona
slug and a hash of its script, so an edited persona is re-embedded and two
scenarios sharing a persona share the vectors.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from simulations.personas.vectors import text_vectors

# Cosine similarity (all-MiniLM-L6-v2) below which an utterance is off-script.
# Paraphrases of an authored prompt score ~0.5-0.9; unrelated lines < 0.35.
TOPIC_THRESHOLD = 0.42
CLARIFY_TOPIC = "clarify"
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class ScriptIndex:
    topics: tuple[dict, ...]
    prompt_topic: np.ndarray  # topic index of each prompt row
    matrix: np.ndarray  # prompts x dim


@dataclass(frozen=True)
class TopicMatch:
    topic: dict | None  # the script entry, None when off-script
    name: str  # topic name ("" when off-script)
    score: float  # best cosine similarity found
    on_script: bool


_cache_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str], ScriptIndex] = OrderedDict()
_CACHE_SIZE = 256


def script_content_hash(*, persona: dict) -> str:
    payload = json.dumps(persona.get("script") or [], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def script_index_for(*, persona: dict) -> ScriptIndex:
    key = (str(persona.get("slug", "")), script_content_hash(persona=persona))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    topics = tuple(t for t in persona.get("script") or [] if t.get("prompts"))
    prompts = [(i, str(p)) for i, t in enumerate(topics) for p in t["prompts"]]
    index = ScriptIndex(
        topics=topics,
        prompt_topic=np.array([i for i, _ in prompts], dtype=np.int64),
        matrix=text_vectors(texts=[p for _, p in prompts]),
    )
    with _cache_lock:
        _cache[key] = index
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return index


def persona_topic_match(*, persona: dict, text: str, threshold: float = TOPIC_THRESHOLD) -> TopicMatch:
    """The script topic ``text`` is about, by the best prompt similarity of any of its sentences."""
    index = script_index_for(persona=persona)
    text = (text or "").strip()
    if not text or not len(index.topics):
        return TopicMatch(None, "", 0.0, False)
    segments = [s for s in (p.strip() for p in _SPLIT.split(text)) if s][:4]
    # The whole utterance too: a short question after a long preamble should not lose to the preamble.
    candidates = list(dict.fromkeys([text, *segments]))
    similarities = text_vectors(texts=candidates) @ index.matrix.T
    best_row, best_col = np.unravel_index(int(np.argmax(similarities)), similarities.shape)
    score = float(similarities[best_row, best_col])
    topic = index.topics[int(index.prompt_topic[best_col])]
    if score < threshold:
        return TopicMatch(None, "", score, False)
    return TopicMatch(topic, str(topic.get("topic", "")), score, True)
