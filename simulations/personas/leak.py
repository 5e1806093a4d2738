"""Does a persona reply give away something it must not?

Hidden facts are never in an LLM prompt, so a leak means the model guessed
or invented a hidden fact (plausible: a "redundant, low-mood man" invites
"I feel like a failure"), or it echoed its instructions. Checks, per reply:

1. embedding similarity of each reply sentence to each hidden fact clause,
   counted only when the sentence is closer to the hidden clause than to any
   visible fact by a margin: a sentence explained by a released fact is fine
   even when the hidden history paraphrases it;
2. key-phrase overlap: most of a hidden clause's distinctive content words
   (words not also in the visible facts) appear in the reply;
3. distinctive names and numbers of a hidden fact (not in any visible fact)
   appear in the reply;
4. instruction echo: a run of eight or more words from the instructions, or
   the tell-tale words of an assistant out of character ("as an AI",
   "system prompt", "my instructions").

Returns human-readable reasons; empty means clean.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from simulations.personas.facts import Fact
from simulations.personas.vectors import text_vectors

LEAK_SIMILARITY = 0.6  # sentence vs hidden clause (all-MiniLM-L6-v2): paraphrases ~0.6-0.9, small talk < 0.55
VISIBLE_MARGIN = 0.05
KEY_PHRASE_RATIO = 0.6
ECHO_WORDS = 8

_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
# English stop words left out of key phrases: stopwords.txt beside this module, read once.
_STOPWORDS = frozenset(
    line.strip()
    for line in Path(__file__).with_name("stopwords.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
_OUT_OF_CHARACTER = re.compile(
    r"\b(as an ai|an ai (language )?model|language model|system prompt|my (instructions|prompt|programming)"
    r"|i('m| am) (just )?(an? )?(ai|chatbot|bot|assistant|simulation|simulated)|role-?play(ing)? (scenario|exercise)"
    r"|stay in character|these instructions)\b",
    re.IGNORECASE,
)


def _text_of(item: Fact | str) -> str:
    return item.text if isinstance(item, Fact) else str(item)


def _name_of(item: Fact | str) -> str:
    return f"{item.level_name} fact ({item.source})" if isinstance(item, Fact) else "hidden fact"


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _SPLIT.split(text) if len(c.strip()) > 2]


_COMMA = re.compile(r",\s+|\s+(?:and|but|so|when|because)\s+")
_THIRD_TO_FIRST = (
    (re.compile(r"\b(he|she)\b", re.IGNORECASE), "I"),
    (re.compile(r"\b(him|her)\b(?=\s+(?:[a-z]+ing|to|in|on|at|up|down|out|off|into|$))", re.IGNORECASE), "me"),
    (re.compile(r"\b(his|her)\b", re.IGNORECASE), "my"),
    (re.compile(r"\b(himself|herself)\b", re.IGNORECASE), "myself"),
)


def _fact_views(text: str, name: str) -> list[str]:
    """Sentences of a fact, in the first person (replies are), plus the parts of long ones.

    Why: "Karen found him sitting in the car on the drive for an hour, not
    wanting to go inside" scores 0.5 against "I sat in the car on the drive for
    an hour"; the first-person clause alone scores far higher.
    """
    views: list[str] = []
    # Thoughts and beliefs are authored in the first person already ("She's disappointed in me").
    third_person = not re.search(r"\b(I|me|my|I'm|I've)\b", text)
    for clause in _clauses(text) or [text]:
        first_person = clause
        if not third_person:
            views.append(clause)
            continue
        if name:
            first_person = re.sub(rf"\b{re.escape(name)}('s)?\b", lambda m: "my" if m.group(1) else "I", first_person)
        for pattern, replacement in _THIRD_TO_FIRST:
            first_person = pattern.sub(replacement, first_person)
        views.append(first_person)
        parts = [p.strip() for p in _COMMA.split(first_person) if len(p.split()) >= 4]
        if len(first_person.split()) > 12 and len(parts) > 1:
            views.extend(parts)
    return views


def _stem(word: str) -> str:
    for suffix in ("'s", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _content_words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 2}


def _distinctive_tokens(text: str) -> set[str]:
    """Names (capitalised mid-sentence) and numbers: strong evidence when repeated."""
    tokens = set(re.findall(r"\b\d\d[\d,.]*\b", text))  # one digit ("2 kids") is too common
    for sentence in _clauses(text):
        words = sentence.split()
        tokens |= {w.strip(".,;:!?'\"()").lower() for w in words[1:] if w[:1].isupper() and w.strip(".,;:!?'\"()")}
    return {t for t in tokens if t and t not in _STOPWORDS}


def _echo(reply: str, instructions: str) -> str:
    reply_words = _WORD.findall(reply.lower())
    instruction_text = " ".join(_WORD.findall(instructions.lower()))
    for start in range(0, max(0, len(reply_words) - ECHO_WORDS + 1)):
        shingle = " ".join(reply_words[start : start + ECHO_WORDS])
        if shingle in instruction_text:
            return f"echoes its instructions: '{shingle}'"
    return ""


def leak_check_warm(*, persona: dict) -> None:
    """Embed every fact view the leak check may compare a reply with (any level), ahead of the first reply."""
    from simulations.personas.facts import persona_facts_all

    name = str(persona.get("name", ""))
    first_name = name.split()[0] if name.strip() else ""
    views = [v for fact in persona_facts_all(persona=persona) for v in _fact_views(_text_of(fact), first_name)]
    if views:
        text_vectors(texts=views, persist=True)


def reply_leak_check(
    *,
    reply: str,
    hidden_facts: Sequence[Fact | str],
    visible_facts: Sequence[Fact | str] = (),
    instructions: str = "",
    persona_name: str = "",
) -> list[str]:
    """Reasons ``reply`` leaks a hidden fact or the instructions; [] when clean."""
    reply = (reply or "").strip()
    if not reply:
        return []
    reasons: list[str] = []
    match = _OUT_OF_CHARACTER.search(reply)
    if match:
        reasons.append(f"out of character: '{match.group(0)}'")
    if instructions:
        echo = _echo(reply, instructions)
        if echo:
            reasons.append(echo)
    if not hidden_facts:
        return reasons

    first_name = persona_name.split()[0] if persona_name.strip() else ""
    visible_texts = [v for f in visible_facts for v in _fact_views(_text_of(f), first_name)]
    visible_words = set().union(*(_content_words(t) for t in visible_texts)) if visible_texts else set()
    visible_tokens = set().union(*(_distinctive_tokens(t) for t in visible_texts)) if visible_texts else set()
    reply_words = _content_words(reply)
    reply_lower = reply.lower()

    clause_owner: list[int] = []
    clauses: list[str] = []
    for i, fact in enumerate(hidden_facts):
        for clause in _fact_views(_text_of(fact), first_name):
            clauses.append(clause)
            clause_owner.append(i)
    flagged: dict[int, str] = {}

    for i, fact in enumerate(hidden_facts):  # 3. names and numbers
        leaked = sorted(
            t
            for t in _distinctive_tokens(_text_of(fact)) - visible_tokens
            if re.search(rf"\b{re.escape(t)}\b", reply_lower)
        )
        if leaked:
            flagged.setdefault(i, f"names/numbers {leaked}")

    for i, fact in enumerate(hidden_facts):  # 2. key phrases, per authored sentence
        fact_words = _content_words(_text_of(fact)) - visible_words
        if 0 < len(fact_words) <= 2 and fact_words & reply_words:
            # Short facts are core beliefs and the like ("I am a failure, loser"): one word is enough.
            flagged.setdefault(i, f"key phrases {sorted(fact_words & reply_words)}")
            continue
        for sentence in _fact_views(_text_of(fact), first_name):  # sentences and their long parts
            words = _content_words(sentence) - visible_words
            shared = words & reply_words
            if len(words) >= 3 and len(shared) >= 3 and len(shared) / len(words) >= KEY_PHRASE_RATIO:
                flagged.setdefault(i, f"key phrases {sorted(shared)}")
                break

    sentences = _clauses(reply) or [reply]  # 1. meaning
    vectors = text_vectors(texts=[*sentences, *clauses, *visible_texts])
    sentence_vectors = vectors[: len(sentences)]
    clause_vectors = vectors[len(sentences) : len(sentences) + len(clauses)]
    visible_vectors = vectors[len(sentences) + len(clauses) :]
    hidden_sim = sentence_vectors @ clause_vectors.T
    visible_best = (
        (sentence_vectors @ visible_vectors.T).max(axis=1) if len(visible_texts) else np.zeros(len(sentences))
    )
    for s_index, c_index in zip(*np.nonzero(hidden_sim >= LEAK_SIMILARITY), strict=True):
        score = float(hidden_sim[s_index, c_index])
        if score > float(visible_best[s_index]) + VISIBLE_MARGIN:
            flagged.setdefault(clause_owner[c_index], f"similar meaning ({score:.2f}) in '{sentences[s_index]}'")

    for i, why in sorted(flagged.items()):
        reasons.append(f"{_name_of(hidden_facts[i])}: {why}")
    return reasons
