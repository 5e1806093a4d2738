"""Transcript exports (pure): RTTM, WebVTT, SRT, CSV, JSON.

RTTM is written by pyannote.core's Annotation when it is installed (the
format's reference implementation); otherwise by the same one-line-per-turn
rule. WebVTT and SRT are written by webvtt-py, with the speaker's name as a
voice span (VTT) or prefix (SRT)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Protocol


class Turn(Protocol):
    start: float
    end: float
    speaker: str
    text: str
    words: list
    items: list


def _rttm_name(text: str) -> str:
    """RTTM fields are space separated: names lose their spaces."""
    return re.sub(r"\s+", "_", text.strip()) or "unknown"


def rttm_render(*, turns: Sequence[Turn], uri: str) -> str:
    uri = _rttm_name(uri)
    try:
        from pyannote.core import Annotation, Segment
    except ImportError:
        return "".join(
            f"SPEAKER {uri} 1 {t.start:.3f} {max(t.end - t.start, 0.0):.3f} <NA> <NA> {_rttm_name(t.speaker)} <NA> <NA>\n"
            for t in turns if t.end > t.start
        )
    annotation = Annotation(uri=uri)
    for i, t in enumerate(turns):
        if t.end > t.start:
            annotation[Segment(t.start, t.end), i] = _rttm_name(t.speaker)
    out = io.StringIO()
    annotation.write_rttm(out)
    return out.getvalue()


def _timestamp(seconds: float) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _captions(*, turns: Sequence[Turn], voice_tags: bool):
    from webvtt import Caption

    captions = []
    for t in turns:
        if t.end <= t.start or not t.text.strip():
            continue
        speaker = t.speaker.replace(">", "").replace("<", "")
        text = f"<v {speaker}>{t.text.strip()}" if voice_tags else f"{speaker}: {t.text.strip()}"
        captions.append(Caption(_timestamp(t.start), _timestamp(t.end), text))
    return captions


def webvtt_render(*, turns: Sequence[Turn]) -> str:
    from webvtt import WebVTT

    vtt = WebVTT(captions=_captions(turns=turns, voice_tags=True))
    return vtt.content


def srt_render(*, turns: Sequence[Turn]) -> str:
    from webvtt import WebVTT

    vtt = WebVTT(captions=_captions(turns=turns, voice_tags=False))
    out = io.StringIO()
    vtt.write(out, format="srt")
    return out.getvalue()


def csv_render(*, turns: Sequence[Turn]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["start", "end", "speaker", "role", "text", "items"])
    for t in turns:
        items = "; ".join(f"{i['skill']}={i['label']}" for i in t.items)
        writer.writerow([f"{t.start:.3f}", f"{t.end:.3f}", t.speaker, getattr(t, "role", ""), t.text, items])
    return out.getvalue()


def json_render(*, turns: Sequence[Turn], meta: dict) -> str:
    return json.dumps({
        **meta,
        "turns": [
            {"start": round(t.start, 3), "end": round(t.end, 3), "speaker": t.speaker, "role": getattr(t, "role", ""),
             "text": t.text, "removed": getattr(t, "removed", False), "removal_reason": getattr(t, "removal_reason", ""),
             "words": [{"start": w[0], "end": w[1], "text": w[2]} for w in t.words], "items": t.items}
            for t in turns
        ],
    }, indent=2)
