"""Exports: RTTM (read back by pyannote.database), WebVTT and SRT (read back by webvtt-py), CSV, JSON."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import pytest

from feedback.engines.transcript_formats import csv_render, json_render, rttm_render, srt_render, webvtt_render

pytestmark = pytest.mark.timeout(20)


@dataclass
class T:
    start: float
    end: float
    speaker: str
    text: str
    words: list = field(default_factory=list)
    items: list = field(default_factory=list)
    role: str = ""


TURNS = [T(0.5, 2.25, "Dr Lee", "Keep the needle vertical.", [[0.5, 1.0, "Keep"]], [{"skill": "type", "label": "technical"}], "trainer"),
         T(2.5, 3.0, "Sam", "Okay, got it.")]


def test_rttm_lines_read_back(tmp_path):
    text = rttm_render(turns=TURNS, uri="recording 7")
    lines = [line.split() for line in text.strip().splitlines()]
    assert [(f[0], f[1], float(f[3]), float(f[4]), f[7]) for f in lines] == [
        ("SPEAKER", "recording_7", 0.5, 1.75, "Dr_Lee"), ("SPEAKER", "recording_7", 2.5, 0.5, "Sam")]
    pytest.importorskip("pyannote.database")
    from pyannote.database.util import load_rttm

    (tmp_path / "x.rttm").write_text(text)
    annotation = load_rttm(tmp_path / "x.rttm")["recording_7"]
    assert sorted(annotation.labels()) == ["Dr_Lee", "Sam"]
    assert annotation.label_duration("Dr_Lee") == pytest.approx(1.75)


def test_webvtt_and_srt_read_back_with_speaker_names(tmp_path):
    import webvtt

    vtt = webvtt.from_string(webvtt_render(turns=TURNS))
    assert [(c.start, c.end, c.voice, c.text) for c in vtt] == [
        ("00:00:00.500", "00:00:02.250", "Dr Lee", "Keep the needle vertical."), ("00:00:02.500", "00:00:03.000", "Sam", "Okay, got it.")]
    srt = srt_render(turns=TURNS)
    assert "00:00:00,500 --> 00:00:02,250\nDr Lee: Keep the needle vertical." in srt
    (tmp_path / "x.srt").write_text(srt)
    assert [c.text for c in webvtt.from_srt(str(tmp_path / "x.srt"))] == ["Dr Lee: Keep the needle vertical.", "Sam: Okay, got it."]


def test_csv_and_json():
    rows = list(csv.reader(io.StringIO(csv_render(turns=TURNS))))
    assert rows[0] == ["start", "end", "speaker", "role", "text", "items"]
    assert rows[1] == ["0.500", "2.250", "Dr Lee", "trainer", "Keep the needle vertical.", "type=technical"]
    data = json.loads(json_render(turns=TURNS, meta={"recording": 7}))
    assert data["recording"] == 7 and data["turns"][0]["words"] == [{"start": 0.5, "end": 1.0, "text": "Keep"}]
