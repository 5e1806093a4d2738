"""Who is speaking: map diarized speakers to enrolled people by cosine similarity of voice prints (pure).

Every diarized speaker gets at most one person and every person at most one speaker (an optimal
one-to-one assignment, Hungarian method). An assigned pair below the threshold stays "unknown"
(`key` None): a voice that was never enrolled must not borrow the nearest enrolled name.

`margin` says how clearly the choice stands out:
- for a match, similarity minus the strongest competitor: the speaker's next most similar person,
  or another speaker just as similar to this person, or the threshold itself when there is no
  competitor;
- for "unknown", how far the best similarity falls below the threshold.
Confidence is "high", "medium" or "low" from the similarity's distance to the threshold and the
margin (bands calibrated with the threshold, see docs/speech-engines.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

DEFAULT_THRESHOLD = 0.85  # calibrated: docs/speech-engines.md, "Voice enrolment"
# (least similarity above the threshold, least margin) for each confidence, strongest first
HIGH = (0.05, 0.10)
MEDIUM = (0.02, 0.05)


@dataclass(frozen=True)
class SpeakerMatch:
    speaker: str
    key: str | None  # None: unknown
    similarity: float
    margin: float
    confidence: str  # "high" / "medium" / "low"


def speaker_match_threshold() -> float:
    """SPEAKER_MATCH_THRESHOLD from Django settings, else the environment, else the calibrated default."""
    try:
        from django.conf import settings

        if settings.configured and hasattr(settings, "SPEAKER_MATCH_THRESHOLD"):
            return float(settings.SPEAKER_MATCH_THRESHOLD)
    except ImportError:  # pragma: no cover - Django is installed with the project
        pass
    return float(os.environ.get("SPEAKER_MATCH_THRESHOLD", DEFAULT_THRESHOLD))


def _unit_rows(vectors: list[np.ndarray], *, what: str, names: list[str]) -> np.ndarray:
    matrix = np.stack([np.asarray(v, dtype=np.float64).reshape(-1) for v in vectors])
    if not np.isfinite(matrix).all():
        raise ValueError(f"{what} embeddings contain values that are not finite numbers")
    norms = np.linalg.norm(matrix, axis=1)
    if (norms == 0).any():
        raise ValueError(f"{what} embedding of {names[int(np.argmin(norms))]!r} is all zeros")
    return matrix / norms[:, None]


def _confidence(*, above: float, margin: float) -> str:
    if above >= HIGH[0] and margin >= HIGH[1]:
        return "high"
    if above >= MEDIUM[0] and margin >= MEDIUM[1]:
        return "medium"
    return "low"


def speakers_match(
    *, speaker_embeddings: dict[str, np.ndarray], enrolled: dict[str, np.ndarray], threshold: float | None = None
) -> dict[str, SpeakerMatch]:
    """speaker label → SpeakerMatch, for every diarized speaker (one-to-one; "unknown" under the threshold)."""
    from scipy.optimize import linear_sum_assignment

    threshold = speaker_match_threshold() if threshold is None else float(threshold)
    speakers = list(speaker_embeddings)
    keys = list(enrolled)
    if not speakers:
        return {}
    if not keys:
        return {s: SpeakerMatch(s, None, 0.0, threshold, "high") for s in speakers}
    a = _unit_rows([speaker_embeddings[s] for s in speakers], what="speaker", names=speakers)
    b = _unit_rows([enrolled[k] for k in keys], what="enrolled", names=keys)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"speaker embeddings have {a.shape[1]} dimensions but enrolled ones have {b.shape[1]}")
    sim = a @ b.T  # (speakers, people)
    rows, cols = linear_sum_assignment(sim, maximize=True)
    assigned = dict(zip(rows.tolist(), cols.tolist(), strict=True))

    matches: dict[str, SpeakerMatch] = {}
    for i, speaker in enumerate(speakers):
        j = assigned.get(i)
        best = float(sim[i].max())
        if j is None or sim[i, j] < threshold:
            gap = threshold - best
            if best >= threshold:  # above the threshold, but that person went to a closer speaker
                gap = 0.0
            matches[speaker] = SpeakerMatch(
                speaker, None, round(best, 4), round(gap, 4), _confidence(above=gap, margin=gap)
            )
            continue
        similarity = float(sim[i, j])
        competitors = [float(x) for k, x in enumerate(sim[i]) if k != j]
        competitors += [float(x) for k, x in enumerate(sim[:, j]) if k != i]
        margin = similarity - (max(competitors) if competitors else threshold)
        matches[speaker] = SpeakerMatch(
            speaker,
            keys[j],
            round(similarity, 4),
            round(margin, 4),
            _confidence(above=similarity - threshold, margin=margin),
        )
    return matches
