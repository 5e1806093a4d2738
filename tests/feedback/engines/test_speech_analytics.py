"""Speech analytics per speaker (pure module)."""

from __future__ import annotations

import pytest

from feedback.engines.speech_analytics import SpeechTurn, filler_counts, speech_analytics

pytestmark = pytest.mark.timeout(10)


def _turn(speaker, start, end, text, step=0.4):
    words = tuple((start + i * step, start + i * step + step * 0.8, w) for i, w in enumerate(text.split()))
    return SpeechTurn(speaker=speaker, start=start, end=end, words=words)


def test_talk_time_share_rate_and_monologue():
    turns = [
        _turn("A", 0.0, 6.0, "one two three four five six seven eight nine ten eleven twelve"),
        _turn("B", 7.0, 9.0, "yes okay then"),
        _turn("A", 10.0, 12.0, "and more words"),
        _turn("A", 13.0, 15.0, "still talking now"),
    ]
    a, b = speech_analytics(turns=turns)
    assert (a.speaker, b.speaker) == ("A", "B")
    assert a.talk_time_s == pytest.approx(10.0) and b.talk_time_s == pytest.approx(2.0)
    assert a.share == pytest.approx(10 / 12) and b.share == pytest.approx(2 / 12)
    assert a.words == 18 and a.words_per_minute == pytest.approx(18 / (10 / 60))
    assert a.longest_monologue_s == pytest.approx(6.0)  # 0-6 s; 10-15 s (two turns 1 s apart, joined) is 5 s
    assert b.longest_monologue_s == pytest.approx(2.0)


def test_pauses_inside_a_speakers_own_speech():
    words = ((0.0, 0.3, "so"), (0.3, 0.6, "the"), (1.6, 1.9, "plan"), (1.9, 2.2, "is"), (3.0, 3.3, "simple"))
    (stats,) = speech_analytics(turns=[SpeechTurn("A", 0.0, 3.3, words)])
    assert stats.pauses == 2 and stats.pause_time_s == pytest.approx(1.0 + 0.8)
    assert stats.mean_pause_s == pytest.approx(0.9)


def test_overlaps_and_interruptions():
    turns = [
        _turn("A", 0.0, 5.0, "I was saying that we should"),
        _turn("B", 4.0, 8.0, "sorry can I just add"),  # starts inside A's turn; A stops first: interruption
        _turn("A", 7.9, 8.5, "mm"),  # starts inside B's, but ends after B stops... backchannel overlap only
        _turn("B", 20.0, 22.0, "later"),
    ]
    a, b = speech_analytics(turns=turns)
    assert b.overlaps == 1 and b.interruptions == 1
    assert a.overlaps == 1 and a.interruptions == 0  # overlap of 0.1 s is below the interruption minimum


def test_filler_words_counted_with_phrases():
    assert filler_counts(text="Um, you know, I mean the uh plan, umbrella") == {"um": 1, "you know": 1, "i mean": 1, "uh": 1}
    (stats,) = speech_analytics(turns=[SpeechTurn("A", 0, 4, (), text="um so uh I mean it works um")])
    assert stats.fillers == 4 and stats.filler_counts == {"um": 2, "uh": 1, "i mean": 1}
    assert stats.fillers_per_100_words == pytest.approx(100 * 4 / 8)


def test_empty_and_zero_length_turns():
    assert speech_analytics(turns=[]) == []
    assert speech_analytics(turns=[SpeechTurn("A", 1.0, 1.0, ())]) == []
