"""Scoring a trainee's CBT formulation worksheet against the persona's
cognitive model, field by field, with explanations in plain words.

Closed lists (emotions from the 9, core beliefs from the 19) are scored by
precision, recall and F1. Free-text fields are scored by meaning: the
reference is split into key elements (clauses); an element is covered when
some sentence of the worksheet is similar enough to it; the score mixes
coverage with whole-field similarity so a paraphrase that covers everything
scores high and a vague gist scores partial.

Situation-specific fields (situation, automatic thoughts, emotions,
behaviour) are scored against the one situation of the cognitive model the
worksheet best matches, not the union of all situations: the worksheet
formulates one situation, and a trainee who explored one moment thoroughly
must not lose recall for emotions of moments they never asked about.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from feedback.engines.text_spans import sentence_spans
from simulations.cognitive_model import ALL_CORE_BELIEFS, CORE_BELIEF_CATEGORY, EMOTIONS
from trainer_app.engines.embeddings import embed

COVERED = 0.55  # cosine at which a worksheet sentence covers a reference element (MiniLM paraphrases ~0.6+)
_COMPLETE = 0.75
_PARTIAL = 0.3
_BELIEF_MATCH = 0.75  # free-typed core belief mapped onto one of the 19 only when clearly the same

FIELDS = (
    "situation",
    "automatic_thoughts",
    "emotions",
    "behaviour",
    "core_beliefs",
    "intermediate_beliefs",
    "coping_strategies",
)
_FIELD_WORDS = {
    "situation": "situation",
    "automatic_thoughts": "automatic thoughts",
    "emotions": "emotions",
    "behaviour": "behaviour",
    "core_beliefs": "core beliefs",
    "intermediate_beliefs": "intermediate beliefs",
    "coping_strategies": "coping strategies",
}


@dataclass
class FieldScore:
    score: float  # 0..1
    label: str  # complete | partial | missing
    explanation: str
    covered: list[str] = field(default_factory=list)  # reference elements / items the trainee got
    missed: list[str] = field(default_factory=list)  # reference elements / items the trainee did not get
    extra: list[str] = field(default_factory=list)  # closed lists: items named that are not in the reference
    precision: float | None = None  # closed lists only
    recall: float | None = None
    f1: float | None = None


@dataclass
class FormulationResult:
    situation: FieldScore
    automatic_thoughts: FieldScore
    emotions: FieldScore
    behaviour: FieldScore
    core_beliefs: FieldScore
    intermediate_beliefs: FieldScore
    coping_strategies: FieldScore
    overall: float
    matched_situation: int  # index of the cognitive model's situation the worksheet was scored against

    def as_dict(self) -> dict:
        return asdict(self)


def _label(score: float, *, empty: bool) -> str:
    if empty or score < _PARTIAL:
        return "missing"
    return "complete" if score >= _COMPLETE else "partial"


def _quoted(items: list[str]) -> str:
    quoted = [f"'{i}'" for i in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _text(value) -> str:
    if isinstance(value, list | tuple):
        return ". ".join(str(v) for v in value if str(v).strip())
    return str(value or "").strip()


def _items(value) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[,;\n]", value) if value.strip() else []
    return [str(v).strip() for v in value or [] if str(v).strip()]


def worksheet_field(*, worksheet: dict, name: str):
    return worksheet.get(name, worksheet.get(name.replace("_", "-")))


def key_elements(*, text: str) -> list[str]:
    """The reference split into the clauses a trainee should cover."""
    elements = []
    for sentence in sentence_spans(text=text):
        for piece in re.split(r"[;,]|\s(?:and|but|then)\s", sentence):
            piece = piece.strip(" .!?")
            if len(piece.split()) >= 2:
                elements.append(piece)
    return elements or ([text.strip(" .")] if text.strip() else [])


# -- closed lists ---------------------------------------------------------


def _closed_list_score(*, named: list[str], reference: list[str], noun: str) -> FieldScore:
    named_set = list(dict.fromkeys(named))
    ref_set = list(dict.fromkeys(reference))
    hits = [n for n in named_set if n in ref_set]
    missed = [r for r in ref_set if r not in named_set]
    extra = [n for n in named_set if n not in ref_set]
    precision = len(hits) / len(named_set) if named_set else 0.0
    recall = len(hits) / len(ref_set) if ref_set else (1.0 if not named_set else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    parts = []
    if not named_set:
        parts.append(f"You did not name any {noun}; the patient's are {_quoted(ref_set)}." if ref_set else f"No {noun} expected.")
    else:
        if hits and missed:
            parts.append(f"You identified {_quoted(hits)} but missed {_quoted(missed)}.")
        elif hits:
            parts.append(f"You identified all of them: {_quoted(hits)}.")
        else:
            parts.append(f"None of your {noun} match the patient's; you missed {_quoted(missed)}.")
        if extra:
            parts.append(f"{_quoted(extra)} {'is' if len(extra) == 1 else 'are'} not among them.")
    return FieldScore(
        score=round(f1, 3),
        label=_label(f1, empty=not named_set),
        explanation=" ".join(parts),
        covered=hits,
        missed=missed,
        extra=extra,
        precision=round(precision, 3),
        recall=round(recall, 3),
        f1=round(f1, 3),
    )


def emotions_normalised(*, value) -> list[str]:
    words = [w.lower() for w in _items(value)]
    return [w for w in words if w in EMOTIONS] + [w for w in words if w not in EMOTIONS]


_BELIEF_VECTORS: dict[str, np.ndarray] = {}


def core_beliefs_normalised(*, value) -> list[str]:
    """Map typed beliefs onto the 19 (exact, then by meaning); unknown ones are kept as typed."""
    canonical = {re.sub(r"[^a-z ]", "", b.lower()).strip(): b for b in ALL_CORE_BELIEFS}
    named = _items(value) if not isinstance(value, str) else [value] if value.strip() else []
    result, unknown = [], []
    for item in named:
        key = re.sub(r"[^a-z ]", "", item.lower()).strip()
        if key in canonical:
            result.append(canonical[key])
        else:
            unknown.append(item)
    if unknown:
        if not _BELIEF_VECTORS:
            _BELIEF_VECTORS.update(zip(ALL_CORE_BELIEFS, embed(list(ALL_CORE_BELIEFS)), strict=True))
        matrix = np.stack([_BELIEF_VECTORS[b] for b in ALL_CORE_BELIEFS])
        for item, vector in zip(unknown, embed(unknown), strict=True):
            sims = matrix @ vector
            best = int(np.argmax(sims))
            result.append(ALL_CORE_BELIEFS[best] if sims[best] >= _BELIEF_MATCH else item)
    return result


# -- free text ------------------------------------------------------------


def free_text_score(*, written: str, reference: str, noun: str) -> FieldScore:
    elements = key_elements(text=reference)
    if not written.strip():
        return FieldScore(0.0, "missing", f"You left the {noun} empty; it should capture {_quoted(elements)}.", [], elements)
    if not elements:
        return FieldScore(1.0, "complete", f"There is no reference {noun} to compare with.", [], [])
    sentences = sentence_spans(text=written) or [written]
    pieces = list(dict.fromkeys(sentences + [p for s in sentences for p in key_elements(text=s)] + [written]))
    vectors = embed(elements + pieces + [reference])
    element_vecs, piece_vecs, ref_vec = vectors[: len(elements)], vectors[len(elements) : -1], vectors[-1]
    best = (element_vecs @ piece_vecs.T).max(axis=1)
    covered = [e for e, s in zip(elements, best, strict=True) if s >= COVERED]
    missed = [e for e, s in zip(elements, best, strict=True) if s < COVERED]
    holistic = float(piece_vecs[-1] @ ref_vec)  # the whole entry against the whole reference
    coverage = len(covered) / len(elements)
    score = 0.7 * coverage + 0.3 * float(np.clip((holistic - 0.2) / 0.6, 0.0, 1.0))
    if not missed:
        explanation = f"Your {noun} covers {_quoted(covered)}."
    elif covered:
        explanation = f"You captured {_quoted(covered)} but missed {_quoted(missed)}."
    else:
        explanation = f"Your {noun} does not yet capture {_quoted(missed)}."
    return FieldScore(round(score, 3), _label(score, empty=False), explanation, covered, missed)


# -- situation choice -----------------------------------------------------


def situation_best_matching(*, worksheet: dict, situations: list[dict]) -> int:
    """The cognitive model's situation the worksheet is about (by meaning of its situation fields)."""
    if len(situations) <= 1:
        return 0
    written = [_text(worksheet_field(worksheet=worksheet, name=f)) for f in ("situation", "automatic_thoughts", "behaviour")]
    if not any(written):
        return 0
    references = [[_text(s.get(k)) for k in ("description", "automatic_thoughts", "behaviour")] for s in situations]
    flat = [t or "-" for t in written] + [t or "-" for ref in references for t in ref]
    vectors = embed(flat)
    mine = vectors[:3]
    scores = []
    named = set(emotions_normalised(value=worksheet_field(worksheet=worksheet, name="emotions")))
    for i, situation in enumerate(situations):
        theirs = vectors[3 + 3 * i : 6 + 3 * i]
        sims = [float(mine[j] @ theirs[j]) for j in range(3) if written[j]]
        emotions = set(situation.get("emotions") or [])
        overlap = len(named & emotions) / len(named | emotions) if named | emotions else 0.0
        scores.append(np.mean(sims) + 0.2 * overlap)
    return int(np.argmax(scores))


def formulation_score(*, worksheet: dict, cognitive_model: dict) -> FormulationResult:
    situations = cognitive_model.get("situations") or [{}]
    chosen = situation_best_matching(worksheet=worksheet, situations=situations)
    situation = situations[chosen]
    get = lambda name: worksheet_field(worksheet=worksheet, name=name)  # noqa: E731

    core_named = core_beliefs_normalised(value=get("core_beliefs") or [])
    core = _closed_list_score(named=core_named, reference=list(cognitive_model.get("core_beliefs") or []), noun="core beliefs")
    missed_categories = {CORE_BELIEF_CATEGORY.get(b) for b in core.missed}
    near = [b for b in core.extra if CORE_BELIEF_CATEGORY.get(b) in missed_categories]
    if near:
        # Same category (helpless / unlovable / worthless) is the right direction, worth saying.
        core.explanation += f" {_quoted(near)} is in the right category ({CORE_BELIEF_CATEGORY[near[0]]}) but not the patient's own words."

    intermediate_reference = " ".join(
        _text(cognitive_model.get(k)) for k in ("intermediate_beliefs", "intermediate_beliefs_during_depression")
    ).strip()
    fields = {
        "situation": free_text_score(written=_text(get("situation")), reference=_text(situation.get("description")), noun="situation"),
        "automatic_thoughts": free_text_score(
            written=_text(get("automatic_thoughts")), reference=_text(situation.get("automatic_thoughts")), noun="automatic thoughts"
        ),
        "emotions": _closed_list_score(
            named=emotions_normalised(value=get("emotions") or []), reference=list(situation.get("emotions") or []), noun="emotions"
        ),
        "behaviour": free_text_score(written=_text(get("behaviour")), reference=_text(situation.get("behaviour")), noun="behaviour"),
        "core_beliefs": core,
        "intermediate_beliefs": free_text_score(
            written=_text(get("intermediate_beliefs")), reference=intermediate_reference, noun="intermediate beliefs"
        ),
        "coping_strategies": free_text_score(
            written=_text(get("coping_strategies")), reference=_text(cognitive_model.get("coping_strategies")), noun="coping strategies"
        ),
    }
    overall = round(float(np.mean([f.score for f in fields.values()])), 3)
    return FormulationResult(**fields, overall=overall, matched_situation=chosen)
