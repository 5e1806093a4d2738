import pytest

from trainer_app.engines.speech.asr_types import AsrSegment
from trainer_app.engines.speech.hallucinations import (
    segments_remove_hallucinations,
    text_collapse_loops,
    text_is_empty,
    text_is_known_hallucination,
)

SPEECH = [(0.0, 5.0)]


def _seg(text, start=1.0, end=2.0, **kw):
    return AsrSegment(start=start, end=end, text=text, **kw)


@pytest.mark.parametrize(
    ("text", "empty"), [("", True), (" ... ", True), ("♪♪", True), ("\ufffd", True), ("ok.", False), ("7", False)]
)
def test_text_is_empty(text, empty):
    assert text_is_empty(text=text) is empty


@pytest.mark.parametrize(
    ("text", "known"),
    [("Thank you for watching!", True), ("Subtitles by the Amara.org community", True), ("Please subscribe.", True),
     ("Thank you.", False), ("Thanks for telling me that.", False)],
)  # fmt: skip
def test_known_phrases(text, known):
    assert text_is_known_hallucination(text=text) is known


def test_loops_collapse_but_ordinary_repetition_stays():
    assert text_collapse_loops(text="I feel I feel I feel I feel I feel tired") == "I feel tired"
    assert text_collapse_loops(text="no, no, no. Not that.") == "no, no, no. Not that."
    assert text_collapse_loops(text="the the the the the the") == "the"


def test_segments_are_dropped_for_each_reason_and_kept_otherwise():
    segments = [
        _seg("I've been feeling low", 0.5, 2.0),
        _seg("...", 2.0, 2.5),
        _seg("and nobody calls", 6.0, 8.0),  # after the speech ended
        _seg("Thanks for watching!", 3.0, 4.0),
        _seg("maybe it's nothing", 4.0, 4.8, no_speech_prob=0.9, avg_logprob=-1.5),
        _seg("so so so so so tired", 4.0, 4.9),
        _seg("so tired", 4.0, 4.9),
    ]
    kept, dropped = segments_remove_hallucinations(segments=segments, speech_regions=SPEECH)
    assert [s.text for s in kept] == ["I've been feeling low", "so tired", "so tired"]
    assert [reason for _, reason in dropped] == [
        "no words (empty or punctuation only)",
        "no speech under it",
        "known hallucination phrase",
        "recognizer reports no speech",
    ]


def test_an_identical_repeated_sentence_is_dropped():
    kept, dropped = segments_remove_hallucinations(
        segments=[_seg("I don't know what to do", 0, 2), _seg("I don't know what to do.", 2, 4)], speech_regions=SPEECH
    )
    assert len(kept) == 1
    assert dropped[0][1] == "repeats the previous segment"


def test_a_collapsed_loop_is_taken_out_of_the_timed_words_too():
    from trainer_app.engines.speech.asr_types import AsrSegment, AsrWord

    tokens = ["I", "said", "thank", "you", "thank", "you", "thank", "you", "thank", "you", "thank", "you", "and", "left"]
    words = tuple(AsrWord(start=i * 0.3, end=i * 0.3 + 0.25, text=t) for i, t in enumerate(tokens))
    segment = AsrSegment(start=0.0, end=len(tokens) * 0.3, text=" ".join(tokens), words=words)
    kept, dropped = segments_remove_hallucinations(segments=[segment], speech_regions=[(0.0, 10.0)])
    assert not dropped
    (out,) = kept
    assert [w.text for w in out.words] == out.text.split() == ["I", "said", "thank", "you", "and", "left"]
    # the words kept keep their own times (the first "thank you" and what follows the loop)
    assert [round(w.start, 2) for w in out.words] == [0.0, 0.3, 0.6, 0.9, 3.6, 3.9]


def test_a_segment_that_is_mostly_a_loop_is_removed_with_its_reason():
    from trainer_app.engines.speech.asr_types import AsrSegment
    from trainer_app.engines.speech.hallucinations import segment_hallucination_reason

    loop = AsrSegment(start=0.0, end=6.0, text="Thank you. " * 12)
    assert segment_hallucination_reason(segment=loop, speech_regions=[(0.0, 6.0)]) == "repeated n-gram loop"
    # judged on the text itself (after loop collapse), not only on the decoder's figure
    looping = AsrSegment(start=0.0, end=6.0, text="Ha" + "ha" * 40, compression_ratio=3.1)
    assert segment_hallucination_reason(segment=looping, speech_regions=[(0.0, 6.0)]).startswith("repetitive text")
    collapsed = AsrSegment(start=0.0, end=6.0, text="okay okay", compression_ratio=3.1)
    assert segment_hallucination_reason(segment=collapsed, speech_regions=[(0.0, 6.0)]) == ""
    unsure = AsrSegment(start=0.0, end=6.0, text="the the cat sat", avg_logprob=-1.8, no_speech_prob=0.1)
    assert segment_hallucination_reason(segment=unsure, speech_regions=[(0.0, 6.0)]).startswith("recognizer unsure")
    assert segment_hallucination_reason(segment=AsrSegment(0.0, 6.0, "Keep the needle vertical."), speech_regions=[(0.0, 6.0)]) == ""
