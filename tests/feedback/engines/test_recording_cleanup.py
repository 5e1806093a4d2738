"""Pure pieces of the recording pipeline: word times, speakers across parts, splitting by speaker."""

from __future__ import annotations

import numpy as np
import pytest

from feedback.engines.recording_cleanup import (
    TimedWord,
    segment_split_by_speaker,
    speakers_link_parts,
    turn_coverage,
    voice_mismatch_reason,
    word_speaker,
    words_spread,
)
from feedback.services.recording_pipeline import asr_windows, diarize_parts

pytestmark = pytest.mark.timeout(10)


def _unit(*values):
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_words_spread_covers_the_segment_in_order():
    words = words_spread(start=1.0, end=3.0, text="a longer word")
    assert [w.text for w in words] == ["a", "longer", "word"]
    assert words[0].start == pytest.approx(1.0) and words[-1].end == pytest.approx(3.0)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(words, words[1:], strict=False))


def test_speakers_are_linked_across_parts_by_voice_one_to_one():
    alice, bob, carol = _unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)
    part1 = ([(0.0, 2.0, "S0"), (2.0, 4.0, "S1")], {"S0": alice, "S1": bob})
    # the second part's clusters come out in the other order, plus a newcomer
    part2 = ([(10.0, 12.0, "S0"), (12.0, 14.0, "S1"), (14.0, 15.0, "S2")], {"S0": _unit(0.05, 1, 0), "S1": _unit(1, 0.05, 0), "S2": carol})
    turns, centroids = speakers_link_parts(parts=[part1, part2])
    labels = [t[2] for t in turns]
    assert labels == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_01", "SPEAKER_00", "SPEAKER_02"]
    assert set(centroids) == {"SPEAKER_00", "SPEAKER_01", "SPEAKER_02"}
    assert np.linalg.norm(centroids["SPEAKER_00"]) == pytest.approx(1.0, abs=1e-5)


def test_a_segment_spanning_two_speakers_is_split_at_the_change():
    turns = [(0.0, 2.0, "A"), (2.2, 4.0, "B")]
    words = [TimedWord(0.1, 0.5, "keep"), TimedWord(0.6, 1.8, "going"), TimedWord(2.3, 2.8, "okay"), TimedWord(2.9, 3.5, "sure")]
    pieces = segment_split_by_speaker(words=words, turns=turns)
    assert [(p.speaker, p.text) for p in pieces] == [("A", "keep going"), ("B", "okay sure")]
    assert pieces[1].start == pytest.approx(2.3)


def test_word_speaker_uses_overlap_then_nearest_within_reach():
    turns = [(0.0, 1.0, "A"), (3.0, 4.0, "B")]
    assert word_speaker(start=0.8, end=1.3, turns=turns) == "A"
    assert word_speaker(start=2.7, end=2.9, turns=turns) == "B"
    assert word_speaker(start=1.8, end=2.0, turns=turns) is None


def test_turn_coverage_and_voice_mismatch():
    assert turn_coverage(start=0.0, end=2.0, turns=[(0.0, 1.0, "A")]) == pytest.approx(0.5)
    centroids = {"A": _unit(1, 0), "B": _unit(0, 1)}
    assert voice_mismatch_reason(vector=_unit(1, 0.1), centroids=centroids) == ""
    assert "matches no diarized speaker" in voice_mismatch_reason(vector=_unit(-1, -1), centroids=centroids)
    assert voice_mismatch_reason(vector=None, centroids=centroids) == ""


def test_long_recordings_are_split_in_silences_and_windows_stay_under_30_s():
    regions = [(i * 10.0, i * 10.0 + 8.0) for i in range(200)]  # 2000 s of speech every 10 s
    parts = diarize_parts(regions=regions, duration_s=2000.0, part_s=600.0)
    assert parts[0][0] == 0.0 and parts[-1][1] == 2000.0 and len(parts) == 4
    for (_, end), (start, _) in zip(parts, parts[1:], strict=False):
        assert end == start and not any(s < end < e for s, e in regions)  # cuts fall in silence
    windows = asr_windows(regions=regions)
    assert all(e - s <= 28.0 for s, e in windows)
    assert sum(1 for _ in windows) < len(regions)
