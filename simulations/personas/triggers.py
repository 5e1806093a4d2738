"""Which of an interpersonal partner's ``calmed_by`` / ``inflamed_by`` items the
trainee's latest turn hits.

Why reactive: the lists describe what works on the partner. Handing the whole
list to an LLM would let it recite it ("I'd calm down if you acknowledged the
budget"), which gives the exercise away. So the items are used (1) by the state
rules, which move concession and agitation when one is hit, and (2) by the LLM
prompt, which is told only about the items this very turn hit ("they just
acknowledged the budget pressure: soften a little").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulations.personas.vectors import text_vectors

# Items are descriptions ("threats to quit"), utterances are speech ("I'll
# resign"): their similarity runs lower than utterance-to-utterance, hence
# the low threshold. Calibrated on all-MiniLM-L6-v2 (small talk scores < 0.25
# against such items; "I know the budget is tight" vs "acknowledging the budget
# pressure" 0.52; "Tom earns more than me" vs "comparisons with colleagues' pay" 0.33).
TRIGGER_SIMILARITY = 0.31
_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")


@dataclass(frozen=True)
class TriggerHits:
    calmed: tuple[str, ...] = ()
    inflamed: tuple[str, ...] = ()


def persona_triggers_hit(*, persona: dict, text: str) -> TriggerHits:
    partner = persona.get("partner") or {}
    calmed = [str(x) for x in partner.get("calmed_by") or [] if str(x).strip()]
    inflamed = [str(x) for x in partner.get("inflamed_by") or [] if str(x).strip()]
    segments = [s.strip() for s in _SPLIT.split(text or "") if s.strip()][:4]
    if not segments or not (calmed or inflamed):
        return TriggerHits()
    vectors = text_vectors(texts=[*segments, *calmed, *inflamed])
    utterance, items = vectors[: len(segments)], vectors[len(segments) :]
    best = (utterance @ items.T).max(axis=0)
    hit = [item for item, score in zip([*calmed, *inflamed], best, strict=True) if score >= TRIGGER_SIMILARITY]
    return TriggerHits(
        calmed=tuple(i for i in calmed if i in hit),
        inflamed=tuple(i for i in inflamed if i in hit),
    )
