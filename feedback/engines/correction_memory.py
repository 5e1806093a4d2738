"""Nearest-corrected-example memory: an instructor's correction takes
precedence when a new utterance is very close to the one corrected.

Every engine learns from its framework's exemplars, but a single correction
among hundreds of exemplars (or against a model trained on thousands of
utterances) may not move the next label. This memory holds the exemplars
whose source is ``instructor-correction`` and, for an utterance whose words
are nearly the same (cosine of character-trigram counts, so "Are you ready
to quit?" and "Are you ready to quit now?" match while a different question
does not), returns the corrected label. Very short utterances ("Okay.",
"Mm-hmm.") mean different things in different moments, so they match only
when the line they answer is close too. No model: cheap enough for every
live turn, and independent of any engine's embeddings.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from feedback.engines.fingerprint import exemplar_id
from feedback.engines.text_spans import context_tail
from feedback.engines.types import AlignedExemplar

CORRECTION_SOURCE = "instructor-correction"
CLOSE = 0.9  # trigram cosine from which two utterances are "the same words"
SHORT_WORDS = 4  # utterances shorter than this also need a close context
CONTEXT_CLOSE = 0.6


def _normalised(text: str) -> str:
    text = re.sub(r"[^a-z0-9' ]+", " ", str(text).lower())
    return " ".join(text.split())


def trigram_counts(text: str) -> Counter:
    padded = f"  {_normalised(text)}  "
    return Counter(padded[i : i + 3] for i in range(len(padded) - 2))


def _cosine(a: Counter, b: Counter) -> float:
    if not a or not b:
        return 0.0
    dot = sum(count * b.get(gram, 0) for gram, count in a.items())
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def text_similarity(a: str, b: str) -> float:
    """Cosine of character-trigram counts of two texts (case and punctuation ignored)."""
    return _cosine(trigram_counts(a), trigram_counts(b))


@dataclass
class CorrectionMatch:
    skill: str
    label: str
    similarity: float
    exemplar: AlignedExemplar


class CorrectionMemory:
    def __init__(self, *, framework: dict) -> None:
        slug = str(framework.get("slug", ""))
        self.entries: list[tuple[dict, str, Counter, Counter]] = []
        for index, exemplar in enumerate(framework.get("exemplars") or []):
            if exemplar.get("source") != CORRECTION_SOURCE or not str(exemplar.get("utterance", "")).strip():
                continue
            tail = context_tail(context=exemplar.get("context") or [])
            self.entries.append((
                exemplar,
                exemplar_id(framework_slug=slug, exemplar=exemplar, index=index),
                trigram_counts(str(exemplar["utterance"])),
                trigram_counts(tail),
            ))

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, *, skill: str, utterance: str, context: list[dict] | None = None) -> CorrectionMatch | None:
        """The closest correction of ``skill`` for these words (the newest wins a tie), or None."""
        if not self.entries:
            return None
        words = trigram_counts(utterance)
        tail = trigram_counts(context_tail(context=context or []))
        short = len(_normalised(utterance).split()) < SHORT_WORDS
        best: CorrectionMatch | None = None
        for exemplar, ident, grams, context_grams in self.entries:
            if exemplar.get("skill") != skill:
                continue
            similarity = _cosine(words, grams)
            if similarity < CLOSE:
                continue
            if short and (not tail or not context_grams or _cosine(tail, context_grams) < CONTEXT_CLOSE):
                continue
            if best is None or similarity >= best.similarity:
                best = CorrectionMatch(
                    skill=skill,
                    label=str(exemplar.get("label", "")),
                    similarity=round(similarity, 4),
                    exemplar=AlignedExemplar(
                        exemplar_id=ident,
                        skill=skill,
                        label=str(exemplar.get("label", "")),
                        utterance=str(exemplar.get("utterance", "")),
                        feedback=str(exemplar.get("feedback", "") or ""),
                        rewrite=str(exemplar.get("rewrite", "") or ""),
                        similarity=round(similarity, 4),
                    ),
                )
        return best
