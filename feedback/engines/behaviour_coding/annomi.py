"""Reading AnnoMI-format CSVs into coded therapist utterances with their context.

The file has one row per (utterance, annotator); a few transcripts were coded
by several annotators. We keep one label set per utterance: the majority main
behaviour, with the subtypes of the first annotator who chose it (ties go to
the first annotator), so the training signal stays consistent per utterance.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

BEHAVIOURS = ("reflection", "question", "therapist_input", "other")
SUBTYPE_COLUMNS = {
    "reflection": "reflection_subtype",
    "question": "question_subtype",
    "input": "therapist_input_subtype",
}
REQUIRED_COLUMNS = ("transcript_id", "utterance_id", "interlocutor", "utterance_text", "main_therapist_behaviour")


@dataclass
class CodedUtterance:
    """One therapist utterance, its preceding turns (oldest first) and its gold codes."""

    group: str  # transcript id: the unit every split must respect
    utterance: str
    context: list[dict] = field(default_factory=list)
    labels: dict = field(default_factory=dict)  # behaviour + reflection/question/input subtypes (None when n/a)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return None if value in ("", "n/a", "nan", "None") else value


def _utterance_order(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("inf")


def annomi_rows_read(*, path: Path) -> list[dict]:
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: not an AnnoMI CSV, missing columns {', '.join(missing)}")
        return list(reader)


def annomi_utterances_load(*, path: Path) -> list[CodedUtterance]:
    """Therapist utterances of an AnnoMI CSV, deduplicated, each with the transcript before it as context."""
    by_utterance: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in annomi_rows_read(path=path):
        by_utterance[(row["transcript_id"], row["utterance_id"])].append(row)

    transcripts: dict[str, list[tuple[float, list[dict]]]] = defaultdict(list)
    for (transcript_id, utterance_id), rows in by_utterance.items():
        transcripts[transcript_id].append((_utterance_order(utterance_id), rows))

    coded: list[CodedUtterance] = []
    for transcript_id in sorted(transcripts, key=_utterance_order):
        history: list[dict] = []
        for _, rows in sorted(transcripts[transcript_id], key=lambda item: item[0]):
            first = rows[0]
            speaker = (first["interlocutor"] or "").strip().lower() or "client"
            text = first["utterance_text"] or ""
            if speaker == "therapist":
                labels = _majority_labels(rows=rows)
                if labels is not None:
                    coded.append(
                        CodedUtterance(group=transcript_id, utterance=text, context=list(history), labels=labels)
                    )
            history.append({"speaker": speaker, "text": text})
    return coded


def _majority_labels(*, rows: list[dict]) -> dict | None:
    votes = [_clean(row["main_therapist_behaviour"]) for row in rows]
    votes = [vote for vote in votes if vote in BEHAVIOURS]
    if not votes:
        return None
    counts = Counter(votes)
    best = max(counts.values())
    # Ties: the first annotator's vote among the tied ones (rows keep file order).
    behaviour = next(vote for vote in votes if counts[vote] == best)
    chosen = next(row for row in rows if _clean(row["main_therapist_behaviour"]) == behaviour)
    labels: dict = {"behaviour": behaviour}
    for family, column in SUBTYPE_COLUMNS.items():
        labels[family] = _clean(chosen.get(column))
    return labels


def file_sha256(*, path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
