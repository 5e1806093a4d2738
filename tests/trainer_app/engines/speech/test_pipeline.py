import numpy as np
import pytest

from tests.support.speech import audio_encode, speech_concat, speech_synthesize, wer_compute
from tests.trainer_app.engines.speech.conftest import TARGET_SENTENCE, asr_settings
from trainer_app.engines.speech.errors import AudioTooLarge, AudioTooLong, AudioUndecodable, NoSpeechDetected
from trainer_app.engines.speech.pipeline import Transcript, regions_group, speech_transcribe

# Things a trainee says; pocketsphinx on espeak-ng speech, measured through this pipeline:
# mean WER 0.40-0.46 at 150-175 words/minute, vs ≈1.0 against the wrong sentence.
SENTENCES = [
    TARGET_SENTENCE,
    "what would you like to talk about today",
    "it sounds like the week has been really hard for you",
    "can you tell me what went through your mind",
    "i would like to ask for a raise this year",
    "how did you feel when that happened",
    "that must have been very difficult",
    "what do you think would help right now",
]
MEAN_WER_BOUND = 0.6
TARGET_WER_BOUND = 0.85  # the target sentence is among the hardest for pocketsphinx (0.5-0.7 measured)


def test_wer_compute():
    assert wer_compute(reference="a b c d", hypothesis="a b c d") == 0.0
    assert wer_compute(reference="a b c d", hypothesis="a x c") == 0.5
    assert wer_compute(reference="Hello, there", hypothesis="hello there extra") == 0.5


def test_target_sentence_is_transcribed_by_pocketsphinx(pocketsphinx_asr, target_wav):
    transcript = speech_transcribe(audio_bytes=target_wav.read_bytes(), filename="turn.wav", mime="audio/wav")
    assert isinstance(transcript, Transcript)
    assert transcript.backend.startswith("pocketsphinx") and transcript.low_accuracy is True
    assert wer_compute(reference=TARGET_SENTENCE, hypothesis=transcript.text) < TARGET_WER_BOUND
    assert 0 < transcript.speech_s <= transcript.duration_s
    assert all(0 <= s < e <= transcript.duration_s for s, e, _ in transcript.segments)


def test_pocketsphinx_wer_over_trainee_sentences_is_bounded_and_far_better_than_chance(pocketsphinx_asr, speech_dir):
    hypotheses = []
    for i, sentence in enumerate(SENTENCES):
        clip = speech_synthesize(text=sentence, path=speech_dir / f"sentence{i}.wav", words_per_minute=160)
        hypotheses.append(speech_transcribe(audio_bytes=clip).text)
    own = np.mean([wer_compute(reference=r, hypothesis=h) for r, h in zip(SENTENCES, hypotheses, strict=True)])
    # the same hypotheses scored against the wrong sentence: what a recognizer that hears nothing gets
    wrong = np.mean(
        [wer_compute(reference=SENTENCES[(i + 1) % len(SENTENCES)], hypothesis=h) for i, h in enumerate(hypotheses)]
    )
    assert own < MEAN_WER_BOUND
    assert own < wrong - 0.3


def test_webm_opus_from_the_browser_is_transcribed(pocketsphinx_asr, target_wav, speech_dir):
    webm = audio_encode(src=target_wav, dst=speech_dir / "turn.webm", container="webm")
    transcript = speech_transcribe(audio_bytes=webm.read_bytes(), filename="blob", mime="audio/webm;codecs=opus")
    assert wer_compute(reference=TARGET_SENTENCE, hypothesis=transcript.text) < TARGET_WER_BOUND


def test_silence_raises_no_speech_detected(pocketsphinx_asr, silence_wav):
    with pytest.raises(NoSpeechDetected, match="couldn't hear any speech"):
        speech_transcribe(audio_bytes=silence_wav.read_bytes())


def test_white_noise_raises_no_speech_detected(pocketsphinx_asr, noise_wav):
    with pytest.raises(NoSpeechDetected):
        speech_transcribe(audio_bytes=noise_wav.read_bytes())


def test_corrupt_bytes_raise_audio_undecodable(pocketsphinx_asr):
    with pytest.raises(AudioUndecodable):
        speech_transcribe(audio_bytes=b"\x00\x01garbage" * 500, filename="turn.webm", mime="audio/webm")


def test_limits_come_from_settings(pocketsphinx_asr, target_wav):
    data = target_wav.read_bytes()
    with asr_settings(AUDIO_MAX_BYTES=len(data) - 1), pytest.raises(AudioTooLarge):
        speech_transcribe(audio_bytes=data)
    with asr_settings(AUDIO_MAX_SECONDS=1), pytest.raises(AudioTooLong):
        speech_transcribe(audio_bytes=data)


def test_two_utterances_with_a_long_pause_become_separate_segments(
    pocketsphinx_asr, target_wav, silence_wav, speech_dir
):
    clip = speech_concat(paths=[target_wav, silence_wav, target_wav], path=speech_dir / "two.wav")
    transcript = speech_transcribe(audio_bytes=clip)
    assert len(transcript.segments) >= 2
    assert transcript.speech_s < transcript.duration_s - 2.5  # the 3 s pause is not speech


def test_regions_group_keeps_windows_inside_whisper_context():
    regions = [(0.0, 5.0), (6.0, 20.0), (21.0, 30.0), (31.0, 32.0)]
    assert regions_group(regions=regions, max_span_s=28.0) == [(0.0, 20.0), (21.0, 32.0)]


def test_tiny_whisper_end_to_end_returns_a_production_transcript(tiny_whisper, target_wav):
    with asr_settings(ASR_MODEL=str(tiny_whisper["ct2_dir"])):
        transcript = speech_transcribe(audio_bytes=target_wav)
    assert transcript.backend.startswith("faster-whisper") and transcript.low_accuracy is False
    # the tiny decoder repeats its word until max length; loop collapse leaves it once per segment
    assert set(transcript.text.split()) == {tiny_whisper["word"]}
    assert transcript.duration_s > transcript.speech_s > 0


# --- Whisper tiny.en, the default for live voice turns ------------------------------------------------
# tiny.en through this pipeline on these sentences (6 espeak-ng voices, 8 sentences): WER 0.076 overall,
# 0.0-0.02 for en-us; docs/speech-engines.md has the full table.
TINY_EN_CLEAN_WER_TARGET = 0.10


def test_tiny_en_meets_the_clean_speech_wer_target(default_asr, speech_dir):
    from tests.support.speech import wer_counts

    voices = ("en-us", "en-us+f3", "en-gb")
    sentences = SENTENCES[:4]
    edits = words = wrong_edits = 0
    hypotheses = []
    for v, voice in enumerate(voices):
        for i, sentence in enumerate(sentences):
            clip = speech_synthesize(text=sentence, path=speech_dir / f"tiny-{v}-{i}.wav", voice=voice)
            transcript = speech_transcribe(audio_bytes=clip)
            assert transcript.backend == "faster-whisper (tiny.en, bundled)"
            hypotheses.append(transcript.text)
            e, n = wer_counts(reference=sentence, hypothesis=transcript.text)
            edits, words = edits + e, words + n
            # the same hypothesis against another sentence: what a recognizer that hears nothing scores
            wrong_edits += wer_counts(reference=sentences[(i + 1) % len(sentences)], hypothesis=transcript.text)[0]
    assert edits / words <= TINY_EN_CLEAN_WER_TARGET, list(zip(sentences * len(voices), hypotheses, strict=True))
    assert wrong_edits / words > 0.6


def test_word_times_are_relative_to_the_whole_recording(default_asr, silence_wav, speech_dir):
    one, two = "what would you like to talk about today", "how did you feel when that happened"
    first_wav = speech_synthesize(text=one, path=speech_dir / "one.wav")
    second_wav = speech_synthesize(text=two, path=speech_dir / "two-b.wav")
    clip = speech_concat(paths=[silence_wav, first_wav, silence_wav, second_wav], path=speech_dir / "gaps.wav")
    transcript = speech_transcribe(audio_bytes=clip)
    words = [w for segment_words in transcript.words for w in segment_words]
    assert len(transcript.words) == len(transcript.segments)
    assert [w.text.lower().strip(".,?") for w in words] == (one + " " + two).split()
    first, second = words[: len(one.split())], words[len(one.split()) :]
    # 3 s silence + 0.3 s pad before the first sentence; the second starts ~3.6 s after the first ends
    assert 2.9 <= first[0].start <= 3.6, first[0]
    assert second[0].start - first[-1].end > 3.0
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))
    data = transcript.as_dict()
    assert [w["text"] for s in data["segments"] for w in s["words"]] == [w.text for w in words]
    assert all(0 <= w["probability"] <= 1 for s in data["segments"] for w in s["words"])
