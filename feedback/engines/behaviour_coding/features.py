"""Hand-made cues for MI behaviour codes, and reading the context window.

Embeddings capture meaning but are weak on form: whether a sentence is
phrased as a question, starts with "what" or "do you", says "it sounds like",
gives advice with a modal, or is a short "mm-hmm". These cues are cheap,
transparent and generalise across topics, so they sit next to the embeddings.
"""

from __future__ import annotations

import math
import re

import numpy as np

# Speaker names that mean "the person being coded" (the trainee / therapist);
# everyone else in the context counts as the client.
TRAINEE_SPEAKERS = frozenset(
    {"therapist", "trainee", "counsellor", "counselor", "clinician", "interviewer", "user", "you"}
)

WH_WORDS = ("what", "how", "why", "when", "where", "who", "which", "whom", "whose", "tell me", "describe", "talk about")
AUX_WORDS = (
    "do", "does", "did", "is", "are", "was", "were", "can", "could", "would", "will", "have", "has", "had",
    "should", "may", "might", "shall", "am", "isn't", "aren't", "don't", "doesn't", "didn't", "won't", "wouldn't",
    "can't", "couldn't", "haven't", "hasn't", "any", "anything", "so", "and", "or", "right",
)  # fmt: skip
_TOKEN = re.compile(r"[a-z0-9']+")
_SENTENCE_SPLIT = re.compile(r"(?<=[.?!])\s+")

PHRASES: dict[str, tuple[str, ...]] = {
    "reflect_stem": (
        "it sounds like",
        "sounds like",
        "it seems",
        "seems like",
        "you feel",
        "you're feeling",
        "you are feeling",
        "you felt",
        "what i'm hearing",
        "i hear",
        "you're saying",
        "you are saying",
        "you said",
        "you mentioned",
        "you're worried",
        "you're concerned",
        "you're not",
        "you don't",
        "you want",
        "you'd like",
        "you think",
        "you believe",
        "you've",
        "for you",
        "on one hand",
        "on the other hand",
        "part of you",
        "you're really",
    ),  # fmt: skip
    "so_you": ("so you", "so, you", "so it", "so that", "so this", "and you", "and so"),
    "advice": (
        "you should",
        "you could",
        "you might want",
        "you may want",
        "i suggest",
        "i'd suggest",
        "i recommend",
        "i would recommend",
        "i'd recommend",
        "i'd encourage",
        "i encourage",
        "try to",
        "you need to",
        "you have to",
        "you must",
        "i want you to",
        "it would be good",
        "it's important",
        "make sure",
        "i think you",
    ),  # fmt: skip
    "information": (
        "research",
        "studies",
        "study",
        "percent",
        "%",
        "risk",
        "increase",
        "decrease",
        "cause",
        "causes",
        "recommended",
        "guideline",
        "per week",
        "a day",
        "drinks",
        "doctor",
        "medication",
        "blood",
        "test",
        "results",
        "the reason",
        "because",
        "means",
        "what happens",
    ),  # fmt: skip
    "negotiation": (
        "would it be okay",
        "would it be ok",
        "is it okay",
        "is it ok",
        "would you be willing",
        "are you willing",
        "let's",
        "let us",
        "can we",
        "could we",
        "how about",
        "do you mind",
        "would you mind",
        "mind if",
        "would you like to",
        "next time",
        "we could",
        "we can",
        "plan",
        "goal",
        "agree",
        "come back",
    ),  # fmt: skip
    "options": (
        "options",
        "option",
        "some people",
        "one thing",
        "another thing",
        "either",
        "alternatively",
        "a number of",
        "different ways",
        "choices",
        "choose",
        "some of the things",
    ),  # fmt: skip
    "social": (
        "thank you",
        "thanks",
        "hi",
        "hello",
        "nice to meet",
        "good morning",
        "good afternoon",
        "welcome",
        "bye",
        "see you",
        "take care",
        "my name",
        "have a seat",
        "appreciate",
        "pleasure",
    ),  # fmt: skip
    "backchannel": (
        "mm-hmm",
        "mm",
        "hmm",
        "uh-huh",
        "okay",
        "ok",
        "yeah",
        "yes",
        "right",
        "sure",
        "great",
        "good",
        "alright",
        "all right",
        "i see",
        "wow",
        "oh",
        "absolutely",
        "exactly",
        "got it",
        "fine",
        "perfect",
    ),  # fmt: skip
    "affirm": ("that's great", "good for you", "well done", "that's good", "i appreciate", "you've done", "proud"),
    "open_q": ("tell me", "what", "how", "why", "describe", "talk about", "help me understand", "in what way"),
}
_PHRASE_PATTERNS = {
    name: re.compile(r"(?<![a-z])(?:" + "|".join(re.escape(phrase) for phrase in phrases) + r")(?![a-z])")
    for name, phrases in PHRASES.items()
}


def speaker_is_trainee(*, speaker: str) -> bool:
    return (speaker or "").strip().lower() in TRAINEE_SPEAKERS


def context_previous_texts(*, context: list[dict]) -> tuple[str, str]:
    """(last client text, last trainee text) before the utterance; "" when there is none."""
    client = trainee = ""
    for item in reversed(context or []):
        text = str(item.get("text") or "")
        if speaker_is_trainee(speaker=str(item.get("speaker") or "")):
            trainee = trainee or text
        else:
            client = client or text
        if client and trainee:
            break
    return client, trainee


def text_tokens(*, text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _starts_with(tokens: list[str], words: tuple[str, ...]) -> float:
    joined = " ".join(tokens[:3])
    return float(any(joined == word or joined.startswith(word + " ") for word in words))


def _sentences(text: str) -> list[str]:
    return [sentence for sentence in _SENTENCE_SPLIT.split(text.strip()) if sentence]


def lexical_features(*, utterance: str, previous_client: str) -> np.ndarray:
    """A fixed-length float vector of form cues for one utterance (order given by LEXICAL_FEATURE_NAMES)."""
    text = utterance.strip()
    lower = text.lower()
    tokens = text_tokens(text=text)
    sentences = _sentences(text) or [text]
    last_tokens = text_tokens(text=sentences[-1])
    client_tokens = set(text_tokens(text=previous_client))
    token_set = set(tokens)
    n_tokens = len(tokens)
    content = {token for token in token_set if len(token) > 3}
    client_content = {token for token in client_tokens if len(token) > 3}
    question_sentences = [sentence for sentence in sentences if sentence.rstrip().endswith("?")]
    q_first = text_tokens(text=question_sentences[-1]) if question_sentences else []
    values = [
        math.log1p(n_tokens),
        math.log1p(len(sentences)),
        float(n_tokens <= 2),
        float(n_tokens <= 5),
        float(text.endswith("?")),
        float("?" in text),
        min(text.count("?"), 3) / 3.0,
        len(question_sentences) / len(sentences),
        _starts_with(tokens, WH_WORDS),
        _starts_with(tokens, AUX_WORDS),
        _starts_with(last_tokens, WH_WORDS),
        _starts_with(last_tokens, AUX_WORDS),
        _starts_with(q_first, WH_WORDS),
        _starts_with(q_first, AUX_WORDS),
        float(text.endswith(".")),
        float(text.endswith("-") or text.endswith("--") or text.endswith("...")),
        sum(token in ("you", "your", "you're", "yourself", "you've", "you'd", "you'll") for token in tokens)
        / max(n_tokens, 1),
        sum(token in ("i", "me", "my", "i'm", "i've", "i'd", "i'll") for token in tokens) / max(n_tokens, 1),
        sum(token in ("we", "us", "our", "let's", "we're") for token in tokens) / max(n_tokens, 1),
        float(bool(tokens) and tokens[0] == "so"),
        float(bool(tokens) and tokens[0] in ("and", "but")),
        len(content & client_content) / max(len(content), 1),
        math.log1p(len(text_tokens(text=previous_client))),
        float(previous_client.strip().endswith("?")),
        float(not previous_client.strip()),
    ]
    values.extend(min(len(pattern.findall(lower)), 3) / 3.0 for pattern in _PHRASE_PATTERNS.values())
    return np.asarray(values, dtype=np.float32)  # fmt: skip


LEXICAL_FEATURE_NAMES = (
    "log_tokens", "log_sentences", "tokens_le_2", "tokens_le_5", "ends_question", "has_question", "question_marks",
    "question_sentence_share", "starts_wh", "starts_aux", "last_sentence_wh", "last_sentence_aux", "question_wh",
    "question_aux", "ends_period", "ends_cut_off", "you_rate", "i_rate", "we_rate", "starts_so", "starts_and_but",
    "client_word_overlap", "client_log_tokens", "client_asked", "no_client_turn",
    *(f"phrase_{name}" for name in PHRASES),
)  # fmt: skip
