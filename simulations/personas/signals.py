"""What a trainee utterance does to the persona: empathy, questions,
reflections, judgement, pressure, jailbreak attempts...

Each signal is a score in 0..1 from two sources, whichever is stronger:

- sentence-embedding similarity of each sentence of the utterance to a small
  prototype set per signal (catches paraphrases a word list misses);
- lexical cues (catch the short, formulaic forms embeddings are unsure of:
  "you should", "ignore your instructions", a leading "what"/"do you").

Reflection is measured against the persona's previous line: a trainee line
that restates what the persona just said (high cosine similarity), especially
with a reflective stem ("it sounds like", "so you..."), is a reflection.

The prototype vectors are embedded once per process (one batch); a call then
costs one embedding batch for the utterance's sentences (cached) plus a small
matrix product.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import yaml

from simulations.personas.vectors import text_vectors
from trainer_app.kept_results import KeptResults

SIGNAL_NAMES: tuple[str, ...] = (
    "empathy",
    "validation",
    "open_question",
    "closed_question",
    "reflection",
    "judgement",
    "lecturing",
    "pressure",
    "assertion",
    "negotiation",
    "jailbreak",
)


@dataclass(frozen=True)
class UtteranceSignals:
    """Scores in 0..1; ``text`` is kept so state rules can match persona triggers."""

    text: str = ""
    empathy: float = 0.0
    validation: float = 0.0
    open_question: float = 0.0
    closed_question: float = 0.0
    reflection: float = 0.0
    judgement: float = 0.0
    lecturing: float = 0.0
    pressure: float = 0.0
    assertion: float = 0.0  # DEAR MAN Express/Assert: a clear "I feel / I'd like"
    negotiation: float = 0.0  # DEAR MAN Negotiate: offers, alternatives, "would you be willing"
    jailbreak: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> UtteranceSignals:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def present(self, *, threshold: float = 0.5) -> list[str]:
        return [name for name in SIGNAL_NAMES if getattr(self, name) >= threshold]


# The lexicons (prototype sentences, lexical cues, dialogue acts) live in
# signals.yaml beside this module, read once at import.
_LEXICONS = yaml.safe_load((Path(__file__).with_name("signals.yaml")).read_text(encoding="utf-8"))


def _regex(value: str | list[str]) -> str:
    """A regex from the lexicon file: a string, or a list of parts joined with nothing between."""
    return value if isinstance(value, str) else "".join(value)


# Prototype sentences per signal. Short and varied: they anchor the meaning,
# the lexical cues handle the formulaic phrasings.
PROTOTYPES: dict[str, tuple[str, ...]] = {name: tuple(items) for name, items in _LEXICONS["prototypes"].items()}

# Cosine similarity that maps to 0 and to 1 for each signal (linear between).
# Calibrated on all-MiniLM-L6-v2 with tests/simulations/personas cases:
# unrelated small talk sits below ~0.3; paraphrases of a prototype above ~0.55.
_SIMILARITY_RANGE: dict[str, tuple[float, float]] = {
    "empathy": (0.42, 0.68),
    "validation": (0.42, 0.68),
    "judgement": (0.45, 0.70),
    "lecturing": (0.45, 0.70),
    "pressure": (0.55, 0.80),
    "assertion": (0.50, 0.75),
    "negotiation": (0.50, 0.72),
    "jailbreak": (0.45, 0.68),
}

_LEXICAL: dict[str, tuple[re.Pattern[str], float]] = {
    name: (re.compile(_regex(cue["pattern"]), re.IGNORECASE), float(cue["score"]))
    for name, cue in _LEXICONS["lexical"].items()
}

_OPEN_START = re.compile(
    r"^(and |so |okay,? |ok,? |well,? )?(what|how|why|where|when|who|which|in what way"
    r"|tell me|describe|talk me through|walk me through|help me understand"
    r"|(could|can|would) you (tell|say|describe|talk|walk|help) (me |us )?(a bit |more )?(more )?(about|through|what|how|why|understand))",
    re.IGNORECASE,
)
# "How many", "how long", "who", "which"... invite a fact, not a story: closed (MITI).
_CLOSED_WH = re.compile(
    r"^(and |so )?(how (many|much|often|long|old)|what time|which one|who|when did|where did|where do|is it|what day)\b",
    re.IGNORECASE,
)
_CLOSED_START = re.compile(
    r"^(and |so |okay,? |ok,? |well,? )?(do|does|did|is|are|was|were|have|has|had|can|could|would|will|should|shall|may|might"
    r"|am|isn'?t|aren'?t|don'?t|doesn'?t|didn'?t|won'?t|wouldn'?t|haven'?t|right|correct)\b",
    re.IGNORECASE,
)
_REFLECTIVE_STEM = re.compile(
    r"^(so,? |and )?(it sounds like|sounds like|it seems (like )?|you('re| are) (feeling|saying)|you feel|you felt"
    r"|what i'?m hearing|i'?m hearing|if i understand|you'?re telling me|on one hand|part of you|so you|you mean)",
    re.IGNORECASE,
)
# A role-reversal or instruction attack names what it wants changed: roles,
# instructions, the prompt, being an AI, pretending, acting as someone.
_JAILBREAK_CUE = re.compile(
    r"\b(ai|a\.i\.|bot|chatbot|robot|language model|llm|gpt|prompt|instructions?|programm\w*|system|roles?|character"
    r"|pretend\w*|act(ing)? as|play(ing)? the|you be|be the|assistant|human|real person|rules|scenario|simulation"
    r"|script|jailbreak|developer|switch|swap|reverse)\b",
    re.IGNORECASE,
)
_JAILBREAK_UNCUED_CAP = 0.3
_HARM_SIGNALS = ("judgement", "lecturing", "pressure")
_QUESTION_HARM_DISCOUNT = 0.12
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_MAX_SEGMENTS = 4

_proto_lock = threading.Lock()
_proto: dict = {}


def _prototype_matrix() -> tuple[np.ndarray, list[str]]:
    """All prototypes embedded in one batch, once per process."""
    if not _proto:
        with _proto_lock:
            if not _proto:
                labels = [name for name, items in PROTOTYPES.items() for _ in items]
                texts = [t for items in PROTOTYPES.values() for t in items]
                _proto["matrix"] = text_vectors(texts=texts, persist=True)
                _proto["labels"] = labels
    return _proto["matrix"], _proto["labels"]


def utterance_segments(text: str) -> list[str]:
    """The sentences of an utterance that the signals look at (each embedded)."""
    parts = [p.strip() for p in _SENTENCE_SPLIT.split(text) if p and p.strip()]
    return parts[:_MAX_SEGMENTS] or [text.strip()]


def _ramp(value: float, low: float, high: float) -> float:
    return float(min(1.0, max(0.0, (value - low) / (high - low))))


# Recognizer transcripts have no "?" and no sentence breaks: "so it's good to
# meet you how are you". A question is then found inside the run of words by a
# wh-word followed by an auxiliary ("how are", "what brings"), or an
# auxiliary followed by "you" ("have you", "do you").
_ASR_OPEN_INSIDE = re.compile(
    r"\b(how|what|why|where|when) (are|is|was|were|do|did|does|have|has|had|would|could|can|will|made|makes|brings|brought"
    r"|went|goes|happened|helps|matters|might|kind|sort|else)\b|\b(tell me|talk me through|walk me through)\b",
    re.IGNORECASE,
)
_ASR_CLOSED_INSIDE = re.compile(
    r"\b(do|did|does|have|has|are|were|is|was|can|could|would|will) (you|we|i|it|that|there)\b", re.IGNORECASE
)


def _looks_like_asr(text: str) -> bool:
    return len(text.split()) >= 3 and text == text.lower() and not re.search(r"[.,!?;:]", text)


def _question_scores(segments: list[str]) -> tuple[float, float]:
    open_score = closed_score = 0.0
    if len(segments) == 1 and _looks_like_asr(segments[0]) and not (
        _CLOSED_WH.match(segments[0]) or _OPEN_START.match(segments[0]) or _CLOSED_START.match(segments[0])
    ):
        if _ASR_OPEN_INSIDE.search(segments[0]):
            return 0.7, 0.0
        if _ASR_CLOSED_INSIDE.search(segments[0]):
            return 0.0, 0.6
    for segment in segments:
        is_question = segment.rstrip().endswith("?")
        if _CLOSED_WH.match(segment):
            closed_score = max(closed_score, 1.0 if is_question else 0.6)
        elif _OPEN_START.match(segment):
            open_score = max(open_score, 1.0 if is_question else 0.7)  # "Tell me about..." needs no "?"
        elif _CLOSED_START.match(segment) and is_question:
            closed_score = max(closed_score, 1.0)
        elif is_question:
            closed_score = max(closed_score, 0.6)  # "You slept okay?": a yes/no check
    return open_score, closed_score


_signals_kept: KeptResults[tuple[str, str], UtteranceSignals] = KeptResults(size=256)


def utterance_signals(*, text: str, last_persona_text: str = "") -> UtteranceSignals:
    """Score one trainee utterance (see module doc).

    perf: a turn asks this twice (the persona state update, then the scripted engine) with the same
    two texts; the scores depend on nothing else, so the last few hundred are kept (~0.3 ms a turn)."""
    text = (text or "").strip()
    if not text:
        return UtteranceSignals(text="")
    last = (last_persona_text or "").strip()
    key = (text, last)
    signals = _signals_kept.get(key)
    if signals is None:
        signals = _signals_compute(text=text, last=last)
        _signals_kept.put(key, signals)
    return signals


def _signals_compute(*, text: str, last: str) -> UtteranceSignals:
    segments = utterance_segments(text)
    matrix, labels = _prototype_matrix()
    vectors = text_vectors(texts=[*segments, *([last] if last else [])])
    segment_vectors = vectors[: len(segments)]
    similarities = segment_vectors @ matrix.T  # segments x prototypes
    # An open question that merely mentions a hard topic ("What are the less good
    # things about your drinking?") lands near the lecturing/judgement prototypes;
    # questions only count as harm through lexical cues or a very close match.
    is_question = np.array([s.rstrip().endswith("?") for s in segments])
    harm_columns = np.isin(np.array(labels), _HARM_SIGNALS)
    similarities[np.ix_(is_question, harm_columns)] -= _QUESTION_HARM_DISCOUNT
    best = similarities.max(axis=0)
    scores: dict[str, float] = {}
    label_array = np.array(labels)
    for name, (low, high) in _SIMILARITY_RANGE.items():
        scores[name] = _ramp(float(best[label_array == name].max()), low, high)
    if not _JAILBREAK_CUE.search(text):
        # Without a word about roles, instructions or being an AI, resembling a
        # jailbreak prototype is a coincidence of vocabulary ("What are you
        # hoping to get from therapy?" sits near "you be the therapist now").
        scores["jailbreak"] = min(scores["jailbreak"], _JAILBREAK_UNCUED_CAP)
    for name, (pattern, lexical_score) in _LEXICAL.items():
        if pattern.search(text):
            scores[name] = max(scores[name], lexical_score)
    open_score, closed_score = _question_scores(segments)
    scores["open_question"], scores["closed_question"] = open_score, closed_score
    scores["reflection"] = _reflection_score(segments, segment_vectors, vectors[-1] if last else None)
    return UtteranceSignals(text=text, **{k: round(v, 3) for k, v in scores.items()})


def _reflection_score(segments: list[str], segment_vectors: np.ndarray, last_vector: np.ndarray | None) -> float:
    stem = any(_REFLECTIVE_STEM.match(s) for s in segments)
    if last_vector is None:
        return 0.4 if stem else 0.0  # a reflective form with nothing to reflect: weak
    overlap = float((segment_vectors @ last_vector).max())
    score = _ramp(overlap, 0.35, 0.7)
    if stem:
        score = min(1.0, score + 0.35) if overlap >= 0.3 else max(score, 0.3)
    statement = not all(s.rstrip().endswith("?") for s in segments)
    return score if statement else score * 0.6  # a reflection is a statement; "So you...?" counts less


# ---------------------------------------------------------------------------
# Dialogue acts: what *kind* of remark an utterance is (a greeting, a feeling,
# a request, a threat, an offer, asking for a decision, a question about a
# thought...). Sentence embeddings key on content words ("rent", "raise") more
# than on the act, so the topic matcher (``topics.py``) compares the acts of
# an utterance with the acts of each topic's authored prompts and boosts the
# topics that share them. Lexical only (no embedding): microseconds per call,
# and tolerant of ASR output (lowercase, no punctuation, words missing).
# ---------------------------------------------------------------------------

_ACT_PATTERNS: dict[str, str] = {name: _regex(pattern) for name, pattern in _LEXICONS["acts"].items()}
_ACT_REGEX: dict[str, re.Pattern[str]] = {name: re.compile(p, re.IGNORECASE) for name, p in _ACT_PATTERNS.items()}
ACT_NAMES: tuple[str, ...] = tuple(_ACT_PATTERNS)


def dialogue_acts(*, text: str) -> dict[str, float]:
    """Which act families ``text`` shows, 1.0 each (absent acts are left out)."""
    text = (text or "").strip().replace("’", "'")
    if not text:
        return {}
    return dict.fromkeys(_acts_found(text), 1.0)


@functools.lru_cache(maxsize=1024)
def _acts_found(text: str) -> tuple[str, ...]:
    # perf: every act pattern searched once per text (~0.15 ms), not once per ask: a turn asks for
    # the utterance's acts in the topic match and again in the scripted engine.
    return tuple(name for name, pattern in _ACT_REGEX.items() if pattern.search(text))


def dialogue_act_vector(*, text: str) -> np.ndarray:
    """``dialogue_acts`` as a float32 vector in ``ACT_NAMES`` order."""
    acts = dialogue_acts(text=text)
    return np.array([acts.get(name, 0.0) for name in ACT_NAMES], dtype=np.float32)
