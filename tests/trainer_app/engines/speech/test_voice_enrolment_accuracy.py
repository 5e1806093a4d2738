"""The enrolment target, with the real voice encoder on espeak-ng voices: six voices enrolled on one
~11 s text, identified on other sentences (≥ 95 % correct), and voices never enrolled come out
"unknown" (≥ 90 %). The threshold is the project default, chosen on other voices
(tests.support.voices.CALIBRATION); these TEST voices never took part in choosing it."""

from __future__ import annotations

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
