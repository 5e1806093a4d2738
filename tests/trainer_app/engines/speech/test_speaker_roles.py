"""speakers_match: one-to-one assignment, the unknown threshold, margins and confidence (pure, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from trainer_app.engines.speech.speaker_roles import SpeakerMatch, speaker_match_threshold, speakers_match


def _unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def _at(cos: float, base: np.ndarray, other: np.ndarray) -> np.ndarray:
    """A unit vector with cosine `cos` to `base` (in the plane of base and other)."""
    ortho = other - (other @ base) * base
    ortho = ortho / np.linalg.norm(ortho)
    return (cos * base + np.sqrt(1 - cos**2) * ortho).astype(np.float32)


E = np.eye(4, dtype=np.float32)


def test_each_speaker_gets_the_closest_person():
    enrolled = {"alice": E[0], "bob": E[1]}
    speakers = {"SPEAKER_00": _at(0.95, E[1], E[2]), "SPEAKER_01": _at(0.93, E[0], E[3])}
    result = speakers_match(speaker_embeddings=speakers, enrolled=enrolled, threshold=0.8)
    assert result["SPEAKER_00"].key == "bob" and result["SPEAKER_01"].key == "alice"
    assert result["SPEAKER_00"].similarity == pytest.approx(0.95, abs=1e-4)
    assert isinstance(result["SPEAKER_00"], SpeakerMatch)


def test_two_speakers_never_map_to_the_same_person():
    # both speakers are closest to alice; the better one gets her, the other gets bob or nobody
    alice, bob = E[0], E[1]
    s0 = _unit(0.97, 0.1, 0.2, 0)
    s1 = _unit(0.9, 0.42, 0, 0.1)
    result = speakers_match(speaker_embeddings={"S0": s0, "S1": s1}, enrolled={"alice": alice, "bob": bob},
                            threshold=0.3)  # fmt: skip
    assert result["S0"].key == "alice"
    assert result["S1"].key == "bob"
    strict = speakers_match(speaker_embeddings={"S0": s0, "S1": s1}, enrolled={"alice": alice, "bob": bob},
                            threshold=0.8)  # fmt: skip
    assert strict["S0"].key == "alice" and strict["S1"].key is None
    assert strict["S1"].similarity == pytest.approx(float(s1 @ alice), abs=1e-4)
    assert strict["S1"].margin == 0.0  # above the threshold for alice, but alice went to S0
    assert strict["S1"].confidence == "low"


def test_assignment_maximises_total_similarity_not_greedy_order():
    # greedy (S0 first) would give S0 alice (0.9) and leave S1 with bob (0.1); optimal: S0 bob, S1 alice
    alice, bob = E[0], E[1]
    s0 = _unit(0.9, 0.85, 0.1, 0)
    s1 = _unit(0.95, 0.0, 0.3, 0)
    result = speakers_match(speaker_embeddings={"S0": s0, "S1": s1}, enrolled={"alice": alice, "bob": bob},
                            threshold=0.5)  # fmt: skip
    assert (result["S0"].key, result["S1"].key) == ("bob", "alice")


def test_a_voice_below_the_threshold_is_unknown_with_its_gap():
    result = speakers_match(speaker_embeddings={"S0": _at(0.6, E[0], E[1])}, enrolled={"alice": E[0]}, threshold=0.8)
    match = result["S0"]
    assert match.key is None
    assert match.similarity == pytest.approx(0.6, abs=1e-4)
    assert match.margin == pytest.approx(0.2, abs=1e-4)
    assert match.confidence == "high"


def test_more_speakers_than_people_leaves_the_rest_unknown():
    enrolled = {"alice": E[0]}
    speakers = {"S0": _at(0.95, E[0], E[1]), "S1": _at(0.9, E[0], E[2]), "S2": E[3]}
    result = speakers_match(speaker_embeddings=speakers, enrolled=enrolled, threshold=0.8)
    assert [result[s].key for s in ("S0", "S1", "S2")] == ["alice", None, None]
    # S0 competes with S1 for alice: the margin is their difference, not S0's gap to the threshold
    assert result["S0"].margin == pytest.approx(0.95 - 0.9, abs=1e-3)


def test_margin_is_over_the_second_best_person():
    enrolled = {"alice": E[0], "bob": E[1]}
    speaker = _unit(0.95, 0.5, 0, 0)  # cos to alice ~0.885, to bob ~0.466
    match = speakers_match(speaker_embeddings={"S": speaker}, enrolled=enrolled, threshold=0.7)["S"]
    assert match.key == "alice"
    assert match.margin == pytest.approx(float(speaker @ E[0] - speaker @ E[1]), abs=1e-3)
    assert match.confidence == "high"


def test_confidence_bands():
    enrolled = {"alice": E[0], "bob": E[1]}
    close_call = _unit(1.0, 0.97, 0, 0)  # barely nearer alice than bob
    match = speakers_match(speaker_embeddings={"S": close_call}, enrolled=enrolled, threshold=0.5)["S"]
    assert match.key == "alice" and match.confidence == "low"
    just_over = {"S": _at(0.82, E[0], E[2])}
    assert speakers_match(speaker_embeddings=just_over, enrolled={"alice": E[0]}, threshold=0.8)["S"].confidence == "low"
    medium = {"S": _at(0.85, E[0], E[2])}
    assert speakers_match(speaker_embeddings=medium, enrolled={"alice": E[0]}, threshold=0.8)["S"].confidence == "medium"


def test_vectors_need_not_be_normalised():
    result = speakers_match(speaker_embeddings={"S": E[0] * 7}, enrolled={"alice": E[0] * 0.1}, threshold=0.9)
    assert result["S"].key == "alice" and result["S"].similarity == pytest.approx(1.0)


def test_nobody_enrolled_or_nobody_speaking():
    assert speakers_match(speaker_embeddings={}, enrolled={"alice": E[0]}) == {}
    result = speakers_match(speaker_embeddings={"S": E[0]}, enrolled={}, threshold=0.8)
    assert result["S"].key is None


@pytest.mark.parametrize(
    ("speakers", "enrolled", "message"),
    [
        ({"S": np.zeros(4)}, {"a": E[0]}, "all zeros"),
        ({"S": E[0]}, {"a": np.full(4, np.nan)}, "not finite"),
        ({"S": np.ones(3)}, {"a": E[0]}, "dimensions"),
    ],
)
def test_bad_vectors_are_refused(speakers, enrolled, message):
    with pytest.raises(ValueError, match=message):
        speakers_match(speaker_embeddings=speakers, enrolled=enrolled, threshold=0.5)


def test_threshold_defaults_to_the_setting(settings):
    settings.SPEAKER_MATCH_THRESHOLD = 0.99
    assert speaker_match_threshold() == 0.99
    result = speakers_match(speaker_embeddings={"S": _at(0.95, E[0], E[1])}, enrolled={"alice": E[0]})
    assert result["S"].key is None
