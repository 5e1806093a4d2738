"""How far AnnoMI's own annotators agree on the main therapist behaviour: the reference for the coder's figures.

A few AnnoMI transcripts were coded by several annotators. Two figures:
- pairwise: each pair of annotators over the utterances both coded, averaged over the pairs (what one expert
  gets measured against another; a coder scored against a single annotator's labels is in this position);
- against the others: each annotator's code against the majority of the other annotators' codes.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from feedback.engines.behaviour_coding.annomi import BEHAVIOURS, annomi_rows_read
from feedback.engines.behaviour_coding.metrics import classification_metrics

MIN_SHARED = 20  # a pair of annotators with fewer shared utterances says little


def annotator_agreement(*, path: Path, min_shared: int = MIN_SHARED) -> dict | None:
    """Agreement figures over the utterances coded by two or more annotators, or None when there are none."""
    codes: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # utterance -> annotator -> behaviour
    for row in annomi_rows_read(path=path):
        behaviour = (row.get("main_therapist_behaviour") or "").strip()
        if (row.get("interlocutor") or "").strip().lower() == "therapist" and behaviour in BEHAVIOURS:
            codes[(row["transcript_id"], row["utterance_id"])].setdefault(str(row.get("annotator_id")), behaviour)
    shared = {key: by_annotator for key, by_annotator in codes.items() if len(by_annotator) > 1}
    if not shared:
        return None
    annotators = sorted({annotator for by_annotator in shared.values() for annotator in by_annotator})
    pairs = []
    for first, second in itertools.combinations(annotators, 2):
        both = [by for by in shared.values() if first in by and second in by]
        if len(both) >= min_shared:
            pairs.append(
                classification_metrics(
                    gold=[by[first] for by in both], predicted=[by[second] for by in both], labels=BEHAVIOURS
                )
            )
    gold, predicted = [], []
    for by_annotator in shared.values():
        for annotator, code in by_annotator.items():
            others = [other for name, other in by_annotator.items() if name != annotator]
            counts = Counter(others)
            best = max(counts.values())
            gold.append(next(other for other in others if counts[other] == best))  # ties: the first of them
            predicted.append(code)
    return {
        "utterances": len(shared),
        "transcripts": len({transcript for transcript, _ in shared}),
        "annotators": len(annotators),
        "pairwise": {
            "pairs": len(pairs),
            "min_shared_utterances": min_shared,
            "macro_f1_mean": round(float(np.mean([p["macro_f1"] for p in pairs])), 4) if pairs else None,
            "kappa_mean": round(float(np.mean([p["kappa"] for p in pairs])), 4) if pairs else None,
            "accuracy_mean": round(float(np.mean([p["accuracy"] for p in pairs])), 4) if pairs else None,
        },
        "against_majority_of_others": classification_metrics(gold=gold, predicted=predicted, labels=BEHAVIOURS),
    }
