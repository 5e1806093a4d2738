"""Match a trainee utterance to a persona's script topics (the scripted
engine's ears, also usable to fill ``PersonaState.topics_covered`` with any
engine).

all-MiniLM keys on content words more than on the kind of remark, so a
topic's score has three parts:

- **meaning**: sentence-embedding similarity to the topic, the best of its
  prompts blended with the topic centroid (the mean of its prompt vectors),
  so a topic with several consistent prompts is not beaten by one stray
  prompt of another topic that happens to share a noun;
- **dialogue act**: the utterance's act families (``signals.dialogue_acts``:
  greeting, feeling, request, threat, offer, asking for a decision, a
  thought question, a ruler...) compared with the acts of the topic's own
  prompts; topics whose prompts are the same kind of remark get a boost.
  The acts of the prompts are derived from the authored prompts, so this
  works for any persona, not only the starter packs;
- **conversation**: a topic the persona answered in its last two turns is
  marked down a little (a conversation moves on; asked again plainly, it
  still wins).

The utterance is embedded once per turn (whole text plus up to four
sentences; ``vectors.text_vectors`` caches it for the signal detector too).
Prompt vectors, centroids and prompt acts are computed once per persona
content: cached by slug and a hash of the script.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from simulations.personas.signals import ACT_NAMES, dialogue_act_vector
from simulations.personas.vectors import text_vectors
from trainer_app.kept_results import KeptResults

# Combined score (see ``_topic_scores``) below which an utterance is off-script.
# Calibrated on held-out trainee lines (tests/simulations/personas/data):
# right-topic paraphrases mostly score 0.4-0.9, small talk unrelated to any
# topic (pizza, the weather, football) mostly below 0.35.
TOPIC_THRESHOLD = 0.36
# Recognizer output (no capitals, no punctuation, ~40% of words wrong) scores
# lower against clean prompts across the board: it gets a lower bar.
ASR_TOPIC_THRESHOLD = 0.32
CLARIFY_TOPIC = "clarify"
OFF_SCRIPT_TOPIC = "off-script"
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")

MAX_WEIGHT = 0.7  # best single prompt
CENTROID_WEIGHT = 0.3  # topic centroid
ACT_WEIGHT = 0.22  # shared dialogue acts (cosine of act profiles) add up to this
ACT_GATE_LOW, ACT_GATE_HIGH = 0.2, 0.4  # meaning score over which the act boost fades in
RECENT_PENALTY = 0.05  # topic answered in the persona's last two turns
RECENT_TURNS = 2


@dataclass(frozen=True)
class ScriptIndex:
    topics: tuple[dict, ...]
    prompt_topic: np.ndarray  # topic index of each prompt row
    matrix: np.ndarray  # prompts x dim
    centroids: np.ndarray  # topics x dim (L2-normalised)
    acts: np.ndarray  # topics x len(ACT_NAMES): share of the topic's prompts showing each act, idf-weighted
    act_weights: np.ndarray  # len(ACT_NAMES): idf of each act over the persona's topics
    reply_topics: dict[str, str]  # normalised authored reply -> topic name


@dataclass(frozen=True)
class TopicMatch:
    topic: dict | None  # the script entry, None when off-script
    name: str  # topic name ("" when off-script)
    score: float  # combined score of the best topic
    on_script: bool
    runner_up: str = ""  # second-best topic name (diagnostics)
    acts_shared: float = 0.0  # 0..1: how far the utterance is the same kind of remark as the topic's prompts


_cache_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str], ScriptIndex] = OrderedDict()
_CACHE_SIZE = 256


def normalise_line(text: str) -> str:
    return re.sub(r"\W+", " ", (text or "").lower()).strip()


_hashes: KeptResults[int, tuple[dict, str]] = KeptResults(size=64)  # id(persona) -> (that very dict, its hash)


def script_content_hash(*, persona: dict) -> str:
    """sha256 of the persona's script (canonical JSON): its indexes' cache key.

    perf: remembered per persona dict (by identity; the entry holds the dict, so its id is not reused):
    a turn asked it four times (two topic matches, their recent topics, the reply index), ~0.16 ms each
    on this machine, and the reply runner's persona dicts are kept per scenario version
    (``selectors.scenario_versions.scenario_version_cached``). Persona dicts are read-only snapshots (a scenario
    version's); a changed script is a new dict."""
    entry = _hashes.get(id(persona))
    if entry is not None and entry[0] is persona:
        return entry[1]
    payload = json.dumps(persona.get("script") or [], sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    _hashes.put(id(persona), (persona, digest))
    return digest


_build_locks: dict[tuple[str, str], threading.Lock] = {}  # per persona content, while its index is built


def script_index_for(*, persona: dict) -> ScriptIndex:
    key = (str(persona.get("slug", "")), script_content_hash(persona=persona))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        build_lock = _build_locks.setdefault(key, threading.Lock())
    # One build per persona content: threads asking meanwhile wait for it
    # instead of embedding the same prompts again.
    with build_lock:
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
                return _cache[key]
        try:
            return _script_index_build(key=key, persona=persona)
        finally:
            with _cache_lock:
                _build_locks.pop(key, None)


def script_index_warm(*, persona: dict) -> None:
    """Build (once; concurrent callers wait for the same build) and cache the persona's topic index."""
    script_index_for(persona=persona)


def _script_index_build(*, key: tuple[str, str], persona: dict) -> ScriptIndex:
    topics = tuple(
        t for t in persona.get("script") or [] if t.get("prompts") and t.get("topic") != OFF_SCRIPT_TOPIC
    )
    prompts = [(i, str(p)) for i, t in enumerate(topics) for p in t["prompts"]]
    prompt_topic = np.array([i for i, _ in prompts], dtype=np.int64)
    matrix = text_vectors(texts=[p for _, p in prompts], persist=True)
    centroids = np.zeros((len(topics), matrix.shape[1]), dtype=np.float32)
    acts = np.zeros((len(topics), len(ACT_NAMES)), dtype=np.float32)
    for i in range(len(topics)):
        rows = prompt_topic == i
        centre = matrix[rows].mean(axis=0)
        centroids[i] = centre / max(float(np.linalg.norm(centre)), 1e-9)
        acts[i] = np.mean([dialogue_act_vector(text=p) for j, p in prompts if j == i], axis=0)
    # An act most topics share (an open question) says little about which topic
    # is meant; one only two topics share (a threat, a ruler) says a lot.
    df = (acts > 0).sum(axis=0)
    act_weights = np.log1p(len(topics) / (1.0 + df)).astype(np.float32) * (df > 0)
    acts = acts * act_weights
    reply_topics = {
        normalise_line(str(r.get("text", ""))): str(t.get("topic", ""))
        for t in persona.get("script") or []
        for r in t.get("replies") or []
        if str(r.get("text", "")).strip()
    }
    index = ScriptIndex(topics, prompt_topic, matrix, centroids, acts, act_weights, reply_topics)
    with _cache_lock:
        _cache[key] = index
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return index


def recent_topics(*, persona: dict, history: list[dict] | None, turns: int = RECENT_TURNS) -> list[str]:
    """Topics of the persona's last ``turns`` replies in ``history`` (newest first), by their authored lines.

    A styled reply (an opener, an aside, a first sentence only) still contains
    its authored line or starts with its first words, so matching is by containment.
    """
    if not history:
        return []
    index = script_index_for(persona=persona)
    found: list[str] = []
    said = [str(h.get("text", "")) for h in reversed(history) if h.get("speaker") == "persona"][:turns]
    for text in said:
        norm = normalise_line(text)
        topic = ""
        for line, name in index.reply_topics.items():
            head = line[:40]
            if head and head in norm:
                topic = name
                break
        if topic:
            found.append(topic)
    return found


def _topic_scores(*, index: ScriptIndex, vectors: np.ndarray, act_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Combined score per topic for the utterance (best over its candidate texts), and the act overlap per topic."""
    similarities = vectors @ index.matrix.T  # candidates x prompts
    n_topics = len(index.topics)
    best = np.full((vectors.shape[0], n_topics), -1.0, dtype=np.float32)
    np.maximum.at(best.T, index.prompt_topic, similarities.T)
    centroid = vectors @ index.centroids.T  # candidates x topics
    meaning = (MAX_WEIGHT * best + CENTROID_WEIGHT * centroid).max(axis=0)
    act_vector = act_vector * index.act_weights
    norm = float(np.linalg.norm(act_vector))
    shared = np.zeros(len(index.topics), dtype=np.float32)
    if norm > 0:
        topic_norms = np.linalg.norm(index.acts, axis=1)
        shared = (index.acts @ act_vector) / (np.maximum(topic_norms, 1e-9) * norm)
        # Acts refine a plausible meaning match; they cannot make small talk on-script.
        gate = np.clip((meaning - ACT_GATE_LOW) / (ACT_GATE_HIGH - ACT_GATE_LOW), 0.0, 1.0)
        meaning = meaning + ACT_WEIGHT * shared * gate
    return meaning, shared


def looks_like_asr(text: str) -> bool:
    """No capitals and no punctuation over several words: a speech recognizer's transcript."""
    return len(text.split()) >= 3 and text == text.lower() and not re.search(r"[.,!?;:]", text)


def topic_candidates(*, text: str) -> list[str]:
    """The texts a topic match embeds: the whole utterance and its first sentences."""
    text = (text or "").strip()
    segments = [s for s in (p.strip() for p in _SPLIT.split(text)) if s][:4]
    # The whole utterance too: a short question after a long preamble should not lose to the preamble.
    return list(dict.fromkeys([text, *segments]))


_matches: KeptResults[tuple, TopicMatch] = KeptResults(size=256)


def persona_topic_match(
    *,
    persona: dict,
    text: str,
    threshold: float | None = None,
    history: list[dict] | None = None,
) -> TopicMatch:
    """The script topic ``text`` is about (see module doc); ``history`` (the
    conversation so far, oldest first) lets recently answered topics step back.

    perf: a turn asks this twice with the same arguments (the persona state update, then the
    scripted engine): the result is kept for what it depends on (the script, the text, the threshold
    and the persona's last ``RECENT_TURNS`` lines), ~0.7 ms saved per turn."""
    text = (text or "").strip()
    key = (
        str(persona.get("slug", "")), script_content_hash(persona=persona), text, threshold,
        tuple(str(h.get("text", "")) for h in reversed(history or []) if h.get("speaker") == "persona")[:RECENT_TURNS],
    )
    match = _matches.get(key)
    if match is None:
        match = _topic_match(persona=persona, text=text, threshold=threshold, history=history)
        _matches.put(key, match)
    return match


def _topic_match(*, persona: dict, text: str, threshold: float | None, history: list[dict] | None) -> TopicMatch:
    index = script_index_for(persona=persona)
    if not text or not len(index.topics):
        return TopicMatch(None, "", 0.0, False)
    candidates = topic_candidates(text=text)
    scores, shared = _topic_scores(index=index, vectors=text_vectors(texts=candidates), act_vector=dialogue_act_vector(text=text))
    for name in recent_topics(persona=persona, history=history):
        for i, topic in enumerate(index.topics):
            if topic.get("topic") == name:
                scores[i] -= RECENT_PENALTY
    order = np.argsort(-scores)
    top = int(order[0])
    runner_up = str(index.topics[int(order[1])].get("topic", "")) if len(order) > 1 else ""
    score = float(scores[top])
    topic = index.topics[top]
    if threshold is None:
        threshold = ASR_TOPIC_THRESHOLD if looks_like_asr(text) else TOPIC_THRESHOLD
    if score < threshold:
        return TopicMatch(None, "", score, False, runner_up, float(shared[top]))
    return TopicMatch(topic, str(topic.get("topic", "")), score, True, runner_up, float(shared[top]))
