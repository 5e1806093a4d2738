"""Diarization error rate with pyannote.metrics: RTTM reading and writing, per-file and overall DER.

DER = (missed speech + false alarm + speaker confusion) / reference speech, no forgiveness collar,
overlapped speech scored (pyannote.metrics' DiarizationErrorRate(collar=0, skip_overlap=False)).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from trainer_app.engines.speech.diarization import SpeakerTurn


class RttmError(ValueError):
    """An RTTM file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class DerComponents:
    uri: str
    der: float
    missed: float
    false_alarm: float
    confusion: float
    reference_s: float

    def as_dict(self) -> dict:
        return {"uri": self.uri, "der": round(self.der, 4), "missed_s": round(self.missed, 3),
                "false_alarm_s": round(self.false_alarm, 3), "confusion_s": round(self.confusion, 3),
                "reference_speech_s": round(self.reference_s, 3)}  # fmt: skip


def rttm_read(*, path: Path) -> dict:
    """{uri: pyannote.core.Annotation} from an RTTM file (SPEAKER lines; others ignored)."""
    from pyannote.core import Annotation, Segment

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RttmError(f"cannot read RTTM file {path}: {exc}") from exc
    annotations: dict = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise RttmError(f"{path}:{number}: expected at least 8 fields in an RTTM SPEAKER line, got {len(fields)}")
        try:
            start, duration = float(fields[3]), float(fields[4])
        except ValueError as exc:
            raise RttmError(f"{path}:{number}: start and duration must be numbers") from exc
        if start < 0 or duration < 0:
            raise RttmError(f"{path}:{number}: negative start or duration")
        uri = fields[1]
        annotation = annotations.setdefault(uri, Annotation(uri=uri))
        if duration > 0:
            annotation[Segment(start, start + duration), len(annotation)] = fields[7]
    if not annotations:
        raise RttmError(f"{path} holds no SPEAKER lines")
    return annotations


def turns_annotation(*, turns: Iterable[SpeakerTurn], uri: str):
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=uri)
    for i, turn in enumerate(turns):
        if turn.end > turn.start:
            annotation[Segment(turn.start, turn.end), i] = turn.speaker
    return annotation


def rttm_lines(*, turns: Iterable[SpeakerTurn], uri: str) -> list[str]:
    return [f"SPEAKER {uri} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>"
            for t in turns if t.end > t.start]  # fmt: skip


def der_metric():
    from pyannote.metrics.diarization import DiarizationErrorRate

    return DiarizationErrorRate(collar=0.0, skip_overlap=False)


def der_components(*, metric, reference, hypothesis, uri: str) -> DerComponents:
    """Score one file with `metric` (accumulating it for the overall figure)."""
    detail = metric(reference, hypothesis, detailed=True)
    total = float(detail["total"])
    return DerComponents(
        uri=uri,
        der=float(detail["diarization error rate"]),
        missed=float(detail["missed detection"]),
        false_alarm=float(detail["false alarm"]),
        confusion=float(detail["confusion"]),
        reference_s=total,
    )


def der_overall(*, metric) -> DerComponents:
    """The accumulated DER over every file scored with `metric` (total errors over total speech)."""
    acc = metric.accumulated_
    return DerComponents(uri="TOTAL", der=float(abs(metric)), missed=float(acc["missed detection"]),
                         false_alarm=float(acc["false alarm"]), confusion=float(acc["confusion"]),
                         reference_s=float(acc["total"]))  # fmt: skip
