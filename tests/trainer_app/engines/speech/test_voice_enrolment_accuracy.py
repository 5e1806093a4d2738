"""The enrolment target, with the real voice encoder on espeak-ng voices: six voices enrolled on one
~11 s text, identified on other sentences (≥ 95 % correct), and voices never enrolled come out
"unknown" (≥ 90 %). The threshold is the project default, chosen on other voices
(tests.support.voices.CALIBRATION); these TEST voices never took part in choosing it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.voices import TEST, identification_rates, voice_prints
from trainer_app.engines.speech.speaker_roles import DEFAULT_THRESHOLD, speakers_match

pytestmark = pytest.mark.slow

N_SENTENCES = 6


@pytest.fixture(scope="module")
def test_prints(tmp_path_factory):
    from tests.support.speech import speech_tools_available

    if not speech_tools_available():
        pytest.skip("espeak-ng and sox are needed")
    return voice_prints(group=TEST, directory=tmp_path_factory.mktemp("voices"), n_sentences=N_SENTENCES)


def test_enrolled_voices_are_identified_and_others_are_unknown(test_prints, settings):
    assert settings.SPEAKER_MATCH_THRESHOLD == DEFAULT_THRESHOLD
    rates = identification_rates(prints=test_prints, group=TEST, threshold=settings.SPEAKER_MATCH_THRESHOLD)
    assert rates["n_identify"] == 6 * N_SENTENCES and rates["n_unknown"] == 5 * N_SENTENCES
    assert rates["identified"] >= 0.95, rates["errors"]
    assert rates["unknown"] >= 0.90, rates["errors"]


def test_a_conversation_maps_each_speaker_to_its_person_one_to_one(test_prints):
    """Three diarized speakers (two enrolled voices and one stranger) in one recording."""
    enrolled = test_prints["enrolled"]
    first, second = TEST.enrolled[0], TEST.enrolled[3]
    stranger = TEST.never_enrolled[1]
    speakers = {
        "SPEAKER_00": np.mean(test_prints["tests"][first][:3], axis=0),
        "SPEAKER_01": np.mean(test_prints["tests"][second][:3], axis=0),
        "SPEAKER_02": np.mean(test_prints["tests"][stranger][:3], axis=0),
    }
    result = speakers_match(speaker_embeddings=speakers, enrolled=enrolled, threshold=DEFAULT_THRESHOLD)
    assert result["SPEAKER_00"].key == first and result["SPEAKER_01"].key == second
    assert result["SPEAKER_02"].key is None
    assert result["SPEAKER_00"].confidence in ("high", "medium")


def _solo_speech(*, rttm: Path, audio: Path, file_id: str) -> dict[str, np.ndarray]:
    """Each speaker's speech in one file where nobody else talks (reference RTTM), concatenated."""
    from trainer_app.engines.speech.audio import audio_decode

    samples = audio_decode(source=audio, max_seconds=600).samples
    turns = [line.split() for line in rttm.read_text().splitlines() if line.startswith("SPEAKER")]
    turns = [(float(t[3]), float(t[3]) + float(t[4]), t[7]) for t in turns if t[1] == file_id]
    n_frames = len(samples) // 160 + 1
    count = np.zeros(n_frames, dtype=int)
    owner = np.full(n_frames, "", dtype=object)
    for start, end, speaker in turns:
        count[int(start * 100) : int(end * 100)] += 1
        owner[int(start * 100) : int(end * 100)] = speaker
    speech = {}
    for speaker in {t[2] for t in turns}:
        mask = np.repeat((owner == speaker) & (count == 1), 160)[: len(samples)]
        speech[speaker] = samples[: len(mask)][mask]
    return speech


def test_real_meeting_speakers_are_never_given_to_the_wrong_person(shared_data):
    """AMI excerpts (real voices, one room microphone): every speaker with 7 s or more of solo speech,
    enrolled on its first half and matched (all at once, one to one) on its second half."""
    from trainer_app.engines.speech.speaker_embeddings import speaker_embed

    ami = shared_data / "ami"
    speech = _solo_speech(rttm=ami / "sample.rttm", audio=ami / "sample.wav", file_id="sample")
    for file_id in ("trn01", "trn02", "trn03", "trn04", "trn05"):
        for speaker, samples in _solo_speech(rttm=ami / "train.rttm", audio=ami / f"{file_id}.wav", file_id=file_id).items():
            speech[speaker] = np.concatenate([speech[speaker], samples]) if speaker in speech else samples
    speech = {k: v for k, v in speech.items() if len(v) >= 7 * 16000}
    assert len(speech) >= 4
    enrolled = {k: speaker_embed(samples=v[: len(v) // 2], trim_silence=False) for k, v in speech.items()}
    heard = {k: speaker_embed(samples=v[len(v) // 2 :], trim_silence=False) for k, v in speech.items()}
    result = speakers_match(speaker_embeddings=heard, enrolled=enrolled, threshold=DEFAULT_THRESHOLD)
    assert all(m.key in (speaker, None) for speaker, m in result.items()), result
    identified = [speaker for speaker, m in result.items() if m.key == speaker]
    assert len(identified) >= len(speech) - 1, result
