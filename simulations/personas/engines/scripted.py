"""Scripted standardized patient: the embedded default and exam-mode engine.

Authored lines only, chosen by rules, so it is deterministic for a seed and
can never say a fact above the session's disclosure level (a line above the
level is never a candidate; asides come from the same filtered pool).

A turn:
1. a jailbreak / role-reversal attempt gets an in-character puzzled redirect;
2. the utterance is matched to a script topic (``topics.persona_topic_match``);
   off-script it asks for clarification in character (the persona's
   ``off-script`` topic when present, else generic lines for its mood), or,
   when the line was empathic / a reflection, acknowledges it, and when it
   was a jab, pushes back;
3. the reply is chosen among the topic's lines at or below the level.
   Order: mood-compatible lines first (the mood itself or ``any``; an upset
   line in a calm conversation, or a warm one while upset, breaks
   character), then the deepest level, then an exact mood match over
   ``any``; remaining ties by the seed and turn index. When no line is
   mood-compatible the nearest mood is used. A topic with no line at or
   below the level (asked too deep, too early) gets an in-character
   deflection. (A topic's own ``level`` does not gate it: the packs author
   the early, guarded answer to a deep question as a surface line of that
   topic.) The same line is never said twice in a row;
4. the style shapes it (reserved: first sentence; verbose: a related aside;
   tangent: sometimes drifts to another line; pleasing / upset: an opener;
   plain / custom: as authored) and an upset mood adds an irritable opener;
5. the text is streamed word by word.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from simulations.cognitive_model import DISCLOSURE_RANK
from simulations.personas.lines import (
    ACKNOWLEDGE_LINES,
    CLARIFY_LINES,
    DEFLECT_LINES,
    REBUFF_LINES,
    jailbreak_lines_for,
)
from simulations.personas.signals import dialogue_acts, utterance_signals
from simulations.personas.state import PersonaState
from simulations.personas.topics import (
    CLARIFY_TOPIC,
    TopicMatch,
    persona_topic_match,
    recent_topics,
    script_content_hash,
    script_index_warm,
)
from simulations.personas.vectors import text_vectors

JAILBREAK_THRESHOLD = 0.5
# Authored lines for an utterance that matches no topic ("Sorry, what do you
# mean?"). Not the "clarify" topic: in the starter packs that topic is the
# persona clarifying *itself* when asked "what do you mean?" ("I mean the
# timing..."), so it is matched like any topic and would be a non sequitur here.
OFF_SCRIPT_TOPIC = "off-script"
TANGENT_RATE = 0.4  # share of turns on which a "tangent" persona drifts
WEAK_TOPIC_MATCH = 0.55  # below this, an empathic statement is acknowledged rather than taken as a topic
SHARED_ACTS_KEEP = 0.3  # ...unless it is the same kind of remark as the topic's prompts

_MOOD_POSITION = {"guarded": 0, "neutral": 1, "open": 2}
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")

_PLEASING_OPENERS = ("Of course.", "Yes, absolutely.", "That's a really good question.", "You're right.")
_IRRITABLE_OPENERS = ("Look.", "Honestly?", "Fine.", "I don't know why that matters, but okay.")
_ASIDE_OPENERS = ("And", "Also,", "Thinking about it,")
_TANGENT_OPENERS = ("Sorry, that reminds me.", "Anyway, funny thing.", "Oh, and on a different note.")


def _rng(*, seed: int, state: PersonaState, salt: str) -> random.Random:
    # sha256, not hash(): Python salts str hashes per process, which would break determinism.
    digest = hashlib.sha256(f"{seed}:{state.turn_count}:{salt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _last_persona_text(history: list[dict]) -> str:
    for item in reversed(history or []):
        if item.get("speaker") == "persona":
            return str(item.get("text", ""))
    return ""


def _normalise(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def _level(reply: dict) -> int:
    return DISCLOSURE_RANK.get(str(reply.get("level") or "surface"), 0)


def _mood_distance(line_mood: str, mood: str) -> int:
    if line_mood in ("any", "", None) or line_mood == mood:
        return 0
    if "upset" in (line_mood, mood):
        # upset sits next to guarded, far from open
        other = line_mood if mood == "upset" else mood
        return 1 + _MOOD_POSITION.get(other, 1)
    return abs(_MOOD_POSITION.get(line_mood, 1) - _MOOD_POSITION.get(mood, 1))


def _ranked_lines(*, replies: list[dict], state: PersonaState) -> list[list[str]]:
    """Eligible lines grouped into tiers, best tier first (see module doc)."""
    eligible = [r for r in replies if _level(r) <= state.level and str(r.get("text", "")).strip()]
    tiers: dict[tuple, list[str]] = {}
    for reply in eligible:
        mood = str(reply.get("mood") or "any")
        key = (_mood_distance(mood, state.mood), -_level(reply), 0 if mood == state.mood else 1)
        tiers.setdefault(key, []).append(str(reply["text"]).strip())
    return [tiers[key] for key in sorted(tiers)]


def _same_line(line: str, said: str) -> bool:
    """Was ``said`` (possibly shortened or given an opener by the style) this authored line?"""
    said_norm = _normalise(said)
    return bool(said_norm) and (_normalise(line) == said_norm or _normalise(_first_sentences(line)) in said_norm)


def _pick(*, tiers: list[list[str]], rng: random.Random, avoid: str) -> str:
    """Best tier, seeded tie-break, never ``avoid`` (the previous persona line) when avoidable."""
    for tier in tiers:
        options = [t for t in tier if not _same_line(t, avoid)]
        if options:
            return options[rng.randrange(len(options))]
    if tiers:  # only the previous line itself is possible: acknowledge the repetition
        return f"Like I said, {_lower_first(tiers[0][0])}"
    return ""


def _generic(*, lines: dict[str, tuple[str, ...]], state: PersonaState, rng: random.Random, avoid: str) -> str:
    pool = list(lines.get(state.mood) or lines["neutral"])
    return _pick(tiers=[pool], rng=rng, avoid=avoid)


_reply_cache_lock = threading.Lock()
_reply_cache: OrderedDict[tuple[str, str], tuple[list[tuple[str, int, str, str]], np.ndarray]] = OrderedDict()


_reply_build_locks: dict[tuple[str, str], threading.Lock] = {}


def _reply_index(persona: dict) -> tuple[list[tuple[str, int, str, str]], np.ndarray]:
    """All authored lines (topic, level, mood, text) with their vectors, for asides; cached per content."""
    key = (str(persona.get("slug", "")), script_content_hash(persona=persona))
    with _reply_cache_lock:
        if key in _reply_cache:
            return _reply_cache[key]
        build_lock = _reply_build_locks.setdefault(key, threading.Lock())
    with build_lock:  # one build per persona content; others wait for it
        with _reply_cache_lock:
            if key in _reply_cache:
                return _reply_cache[key]
        try:
            return _reply_index_build(key=key, persona=persona)
        finally:
            with _reply_cache_lock:
                _reply_build_locks.pop(key, None)


def reply_index_warm(*, persona: dict) -> None:
    """Build (once; concurrent callers wait for the same build) and cache the persona's authored-line index."""
    _reply_index(persona)


def scripted_persona_warm(*, persona: dict) -> None:
    """Everything the scripted engine caches per persona: its topic index and authored-line index."""
    script_index_warm(persona=persona)
    reply_index_warm(persona=persona)


def _reply_index_build(*, key: tuple[str, str], persona: dict) -> tuple[list[tuple[str, int, str, str]], np.ndarray]:
    lines = [
        (str(t.get("topic", "")), _level(r), str(r.get("mood") or "any"), str(r.get("text", "")).strip())
        for t in persona.get("script") or []
        for r in t.get("replies") or []
        if str(r.get("text", "")).strip()
    ]
    entry = (lines, text_vectors(texts=[line[3] for line in lines], persist=True))
    with _reply_cache_lock:
        _reply_cache[key] = entry
        while len(_reply_cache) > 256:
            _reply_cache.popitem(last=False)
    return entry


def _aside_candidates(*, persona: dict, state: PersonaState, exclude_topic: str, said: set[str]) -> list[int]:
    lines, _ = _reply_index(persona)
    return [
        i
        for i, (topic, level, mood, text) in enumerate(lines)
        if level <= state.level  # secrecy: asides obey the same level gate as replies
        and topic not in (exclude_topic, CLARIFY_TOPIC, OFF_SCRIPT_TOPIC, "greeting")
        and _mood_distance(mood, state.mood) == 0
        and _normalise(text) not in said
    ]


def _first_sentences(text: str) -> str:
    sentences = _SENTENCE_END.split(text.strip())
    kept = sentences[0]
    if len(kept.split()) < 4 and len(sentences) > 1:  # "Not great." alone says too little
        kept = f"{kept} {sentences[1]}"
    return kept


def _shape(
    *,
    text: str,
    style: str,
    persona: dict,
    state: PersonaState,
    topic: str,
    history: list[dict],
    rng: random.Random,
    line_is_upset: bool,
) -> str:
    if style == "custom":
        return text
    said = {_normalise(str(h.get("text", ""))) for h in history or [] if h.get("speaker") == "persona"}
    said.add(_normalise(text))
    if style == "reserved":
        text = _first_sentences(text)
    elif style == "verbose":
        candidates = _aside_candidates(persona=persona, state=state, exclude_topic=topic, said=said)
        if candidates:
            lines, vectors = _reply_index(persona)
            anchor = text_vectors(texts=[text])[0]
            best = max(candidates, key=lambda i: float(vectors[i] @ anchor))  # the most related line
            text = f"{text} {rng.choice(_ASIDE_OPENERS)} {_lower_first(lines[best][3])}"
    elif style == "tangent" and rng.random() < TANGENT_RATE:
        candidates = _aside_candidates(persona=persona, state=state, exclude_topic=topic, said=said)
        if candidates:
            lines, _ = _reply_index(persona)
            text = f"{text} {rng.choice(_TANGENT_OPENERS)} {lines[rng.choice(candidates)][3]}"
    if style == "pleasing" and state.mood != "upset":
        text = f"{rng.choice(_PLEASING_OPENERS)} {text}"
    elif (style == "upset" or state.mood == "upset") and not line_is_upset:
        text = f"{rng.choice(_IRRITABLE_OPENERS)} {text}"
    return text


def _lower_first(text: str) -> str:
    # Keep "I", "I'm" and names-looking words capitalised after a joining word.
    first = text.split(" ", 1)[0]
    if first in ("I",) or first.startswith("I'") or first[1:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def _style(persona: dict, scenario: dict) -> str:
    return (scenario or {}).get("style") or persona.get("style") or "plain"


def _explains_itself(*, persona: dict, match: TopicMatch) -> bool:
    """Did the match land on an authored "what do you mean?" topic (the persona explaining itself)?

    In the DEAR MAN and MI packs ``clarify`` is exactly that; in the CBT packs it
    is the patient puzzled by jargon, which is not an answer to "what do you mean?".
    """
    if not match.on_script or match.name != CLARIFY_TOPIC:
        return False
    prompts = [str(p) for p in match.topic.get("prompts") or []]
    return sum("clarify" in dialogue_acts(text=p) for p in prompts) * 2 >= len(prompts)


def _explain_last(*, persona: dict, state: PersonaState, history: list[dict], seed: int, last: str) -> tuple[str, TopicMatch] | None:
    """Another line of the topic the persona last answered, introduced as an explanation."""
    recent = recent_topics(persona=persona, history=history, turns=1)
    topic = next((t for t in persona.get("script") or [] if recent and t.get("topic") == recent[0]), None)
    if topic is None:
        return None
    rng = _rng(seed=seed, state=state, salt=f"explain:{recent[0]}")
    text = _pick(tiers=_ranked_lines(replies=list(topic.get("replies") or []), state=state), rng=rng, avoid=last)
    if not text or text.startswith("Like I said"):
        return None
    opener = "I just mean," if state.mood != "upset" else "I mean what I said."
    return f"{opener} {_lower_first(text)}", TopicMatch(topic, str(topic.get("topic", "")), 1.0, True)


def scripted_reply(
    *,
    persona: dict,
    scenario: dict,
    state: PersonaState,
    history: list[dict],
    trainee_text: str,
    seed: int,
) -> tuple[str, TopicMatch | None]:
    """The whole reply and the topic it answered (None for a jailbreak redirect)."""
    last = _last_persona_text(history)
    signals = utterance_signals(text=trainee_text, last_persona_text=last)
    if signals.jailbreak >= JAILBREAK_THRESHOLD:
        rng = _rng(seed=seed, state=state, salt="jailbreak")
        lines = jailbreak_lines_for(kind=str(persona.get("kind")))
        return _pick(tiers=[list(lines)], rng=rng, avoid=last), None

    match = persona_topic_match(persona=persona, text=trainee_text, history=history)
    acts = dialogue_acts(text=trainee_text)
    if "clarify" in acts and not _explains_itself(persona=persona, match=match):
        # "What do you mean?" about the persona's own last line: say it another way.
        explained = _explain_last(persona=persona, state=state, history=history, seed=seed, last=last)
        if explained:
            return explained
    rapport_move = max(signals.empathy, signals.validation, signals.reflection) >= 0.5
    if (
        match.on_script
        and rapport_move
        and not signals.open_question
        and match.score < WEAK_TOPIC_MATCH
        and match.acts_shared < SHARED_ACTS_KEEP
    ):
        # "That sounds really hard." loosely resembles some prompt; it asked nothing: acknowledge it.
        # (Unless the topic's own prompts are this kind of remark: an MI "reflection" topic,
        # a DEAR MAN "pushback" topic acknowledging the other side.)
        match = TopicMatch(None, "", match.score, False)
    rapport_move = rapport_move or "affirm" in acts
    rng = _rng(seed=seed, state=state, salt=match.name or "off-script")
    line_is_upset = False
    if not match.on_script:
        authored = next((t for t in persona.get("script") or [] if t.get("topic") == OFF_SCRIPT_TOPIC), None)
        tiers = _ranked_lines(replies=list(authored.get("replies") or []), state=state) if authored else []
        text = _pick(tiers=tiers, rng=rng, avoid=last) if tiers else ""
        if not text and max(signals.judgement, signals.pressure) >= 0.5:
            text = _generic(lines=REBUFF_LINES, state=state, rng=rng, avoid=last)
        elif not text and rapport_move:
            text = _generic(lines=ACKNOWLEDGE_LINES, state=state, rng=rng, avoid=last)
        text = text or _generic(lines=CLARIFY_LINES, state=state, rng=rng, avoid=last)
    else:
        replies = list(match.topic.get("replies") or [])
        text = _pick(tiers=_ranked_lines(replies=replies, state=state), rng=rng, avoid=last)
        line_is_upset = any(str(r.get("text", "")).strip() == text and r.get("mood") == "upset" for r in replies)
        text = text or _generic(lines=DEFLECT_LINES, state=state, rng=rng, avoid=last)
    shaped = _shape(
        text=text,
        style=_style(persona, scenario),
        persona=persona,
        state=state,
        topic=match.name,
        history=history,
        rng=rng,
        line_is_upset=line_is_upset,
    )
    return shaped, match


def text_word_chunks(*, text: str) -> Iterator[str]:
    """Word-sized chunks (each word with its trailing space) that concatenate back to ``text``."""
    yield from re.findall(r"\s*\S+\s*", text) if text.strip() else ()


class ScriptedPersonaEngine:
    name = "scripted"
    production = False

    def reply_stream(
        self,
        *,
        persona: dict,
        scenario: dict,
        state: PersonaState,
        history: list[dict],
        trainee_text: str,
        seed: int,
    ) -> Iterator[str]:
        text, _ = scripted_reply(
            persona=persona, scenario=scenario, state=state, history=history, trainee_text=trainee_text, seed=seed
        )
        yield from text_word_chunks(text=text)
