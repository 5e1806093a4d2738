"""Speaker embeddings: the re-implemented features and network against librosa and resemblyzer themselves,
the weights check, shapes and times, bad input, and that voices are told apart."""

from __future__ import annotations

import shutil
import sys
import threading
import types

import numpy as np
import pytest

from tests.support.speech import audio_read_wav, speech_synthesize
from trainer_app.engines.speech import speaker_embeddings as se
from trainer_app.engines.status import engine_statuses


def _tone(*, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    wav = 0.1 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (wav + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture
def resemblyzer_reference(monkeypatch):
    """resemblyzer's own code, importable: its webrtcvad import needs `pkg_resources`, which current
    setuptools no longer ships, only to read webrtcvad's version string; give it that string."""
    pytest.importorskip("librosa")
    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            stub = types.SimpleNamespace(get_distribution=lambda name: types.SimpleNamespace(version="0"))
            monkeypatch.setitem(sys.modules, "pkg_resources", stub)
    import resemblyzer

    return resemblyzer


def test_mel_frames_match_librosa():
    librosa = pytest.importorskip("librosa")
    wav = _tone(seconds=2.3)
    expected = librosa.feature.melspectrogram(y=wav, sr=16000, n_fft=400, hop_length=160, n_mels=40).T
    actual = se.mel_frames(samples=wav)
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= 1e-5 * np.abs(expected).max()


def test_embedding_matches_resemblyzer_voice_encoder(resemblyzer_reference):
    wav = _tone(seconds=3.0)
    reference = resemblyzer_reference.VoiceEncoder("cpu", verbose=False).embed_utterance(wav)
    ours = se.embed_preprocessed(wav=wav)
    assert ours.shape == (256,) and ours.dtype == np.float32
    assert float(reference @ ours) > 0.99999
    assert np.abs(reference - ours).max() < 1e-4


def test_volume_normalisation_matches_resemblyzer(resemblyzer_reference):
    quiet = _tone(seconds=1.0) * 0.05
    expected = resemblyzer_reference.normalize_volume(quiet, -30, increase_only=True)
    assert np.allclose(se.normalize_volume(samples=quiet), expected, rtol=1e-5, atol=1e-7)
    loud = np.clip(_tone(seconds=1.0) * 8, -1, 1).astype(np.float32)
    assert np.array_equal(se.normalize_volume(samples=loud), loud)  # never lowered


def test_speaker_embed_is_unit_length_and_deterministic():
    wav = _tone(seconds=4.0)
    first = se.speaker_embed(samples=wav, trim_silence=False)
    second = se.speaker_embed(samples=wav, trim_silence=False)
    assert first.shape == (se.EMBEDDING_SIZE,) and first.dtype == np.float32
    assert abs(float(np.linalg.norm(first)) - 1.0) < 1e-5
    assert np.array_equal(first, second)


def test_short_input_is_padded_not_refused():
    vector = se.speaker_embed(samples=_tone(seconds=0.3), trim_silence=False)
    assert vector.shape == (256,) and np.isfinite(vector).all()


def test_windows_have_centres_every_step():
    wav = _tone(seconds=5.0)
    embeddings, centres = se.speaker_embed_windows(samples=wav, window_s=1.5, step_s=0.25)
    assert embeddings.shape == (len(centres), 256) and embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert centres[0] == pytest.approx(0.75)
    assert np.allclose(np.diff(centres), 0.25)
    assert centres[-1] <= 5.0 - 0.75 + 1e-6 and centres[-1] > 5.0 - 0.75 - 0.25


def test_window_embedding_equals_embedding_of_the_same_frames():
    wav = _tone(seconds=3.0, seed=3)
    embeddings, centres = se.speaker_embed_windows(samples=wav, window_s=1.5, step_s=0.5)
    mel = se.mel_frames(samples=se.normalize_volume(samples=wav))
    direct = se._forward(mels=mel[None, 50:200])[0]
    index = int(np.argmin(np.abs(centres - (50 + 75) * 160 / 16000)))
    assert np.allclose(embeddings[index], direct, atol=1e-5)


def test_input_shorter_than_a_window_gives_one_embedding():
    embeddings, centres = se.speaker_embed_windows(samples=_tone(seconds=0.8))
    assert embeddings.shape == (1, 256)
    assert centres.tolist() == [pytest.approx(0.4)]


@pytest.mark.parametrize(
    ("samples", "rate", "message"),
    [
        (np.zeros(16000, dtype=np.float32), 8000, "16000 Hz"),
        (np.zeros((2, 16000), dtype=np.float32), 16000, "mono"),
        (np.zeros(0, dtype=np.float32), 16000, "at least one sample"),
        (np.full(16000, np.nan, dtype=np.float32), 16000, "not finite"),
    ],
)
def test_bad_input_is_refused_with_a_reason(samples, rate, message):
    with pytest.raises(ValueError, match=message):
        se.speaker_embed(samples=samples, sample_rate=rate)
    with pytest.raises(ValueError, match=message):
        se.speaker_embed_windows(samples=samples, sample_rate=rate)


def test_tampered_weights_are_refused_and_reported(tmp_path, monkeypatch):
    tampered = tmp_path / "pretrained.pt"
    shutil.copyfile(se._weights_path(), tampered)
    with tampered.open("r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setattr(se, "_weights_path", lambda: tampered)
    se.speaker_embeddings_reset()
    try:
        status = se.speaker_embeddings_status()
        assert not status.ok and "refusing to load" in status.detail
        with pytest.raises(se.SpeakerEmbeddingUnavailable, match="expected 39373b86"):
            se.speaker_embed(samples=_tone(seconds=2.0), trim_silence=False)
        status = se.speaker_embeddings_status()
        assert not status.ok and status.detail.startswith("failed to load")
    finally:
        monkeypatch.undo()
        se.speaker_embeddings_reset()


def test_missing_package_is_reported(monkeypatch):
    monkeypatch.setattr(se.importlib.util, "find_spec", lambda name: None)
    se.speaker_embeddings_reset()
    try:
        status = se.speaker_embeddings_status()
        assert not status.ok and "not installed" in status.detail
    finally:
        monkeypatch.undo()
        se.speaker_embeddings_reset()


def test_concurrent_first_use_loads_one_encoder():
    se.speaker_embeddings_reset()
    results, errors = [], []

    def work():
        try:
            results.append(se._encoder())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(results) == 4
    assert all(encoder is results[0] for encoder in results)


def test_status_is_registered_and_names_the_model():
    se.speaker_embed(samples=_tone(seconds=1.0), trim_silence=False)
    statuses = {status.engine: status for status in engine_statuses()}
    status = statuses["speaker_embeddings"]
    assert status.ok and status.production
    assert se.speaker_embedding_model_name() in status.detail
    assert se.speaker_embedding_model_name() == "resemblyzer-ge2e:39373b86598fa3da"


def test_same_voice_is_closer_than_another_voice(speech_dir):
    sentences = [
        "the weather has been cold and grey for most of the week and nobody wants to go outside",
        "my brother called last night to ask whether we could meet for lunch on saturday",
    ]
    clips = {}
    for voice in ("en-us", "en+f3"):
        for i, text in enumerate(sentences):
            path = speech_synthesize(text=text, path=speech_dir / f"se-{voice}-{i}.wav", voice=voice)
            clips[voice, i] = se.speaker_embed(samples=audio_read_wav(path=path))
    same = float(clips["en-us", 0] @ clips["en-us", 1])
    other = float(clips["en-us", 0] @ clips["en+f3", 1])
    assert same > other + 0.05
