import numpy as np

from tests.support.speech import audio_read_wav
from tests.trainer_app.engines.speech.conftest import asr_settings
from trainer_app.engines.speech.asr import asr_backend, asr_status, asr_transcribe
from trainer_app.engines.status import engine_statuses


def test_without_asr_model_the_bundled_pocketsphinx_is_used_and_labelled(pocketsphinx_asr, target_wav):
    before = asr_status()
    assert (before.backend, before.production, before.ok) == ("pocketsphinx (en-us, bundled)", False, True)
    assert "ASR_MODEL not set" in before.detail

    result = asr_transcribe(samples=audio_read_wav(path=target_wav))

    after = asr_status()
    assert after.production is False and after.ok is True
    assert after.detail.startswith("ASR_MODEL not set")
    assert "low accuracy" in after.detail
    assert result.low_accuracy is True
    assert result.backend == after.backend
    assert "about" in result.text.split()  # the word pocketsphinx recognises in every variant we measured


def test_an_unloadable_model_path_falls_back_and_says_why(tmp_path):
    missing = tmp_path / "no-such-model"
    with asr_settings(ASR_MODEL=str(missing)):
        assert asr_status().detail == "configured; loads on first use"
        backend = asr_backend()
        status = asr_status()
    assert backend.low_accuracy is True
    assert status.production is False
    assert status.detail.startswith(f"failed to load {missing}")
    assert "pocketsphinx" in status.detail


def test_a_directory_that_is_not_a_model_falls_back_with_the_loader_error(tmp_path):
    (tmp_path / "tokenizer.json").write_text("{}")
    with asr_settings(ASR_MODEL=str(tmp_path)):
        asr_backend()
        status = asr_status()
    assert status.backend.startswith("pocketsphinx")
    assert f"failed to load {tmp_path}:" in status.detail


def test_a_model_name_is_not_downloaded_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache: the name can't be found locally
    with asr_settings(ASR_MODEL="tiny.en", ASR_ALLOW_DOWNLOAD=False):
        asr_backend()
        status = asr_status()
    assert status.backend.startswith("pocketsphinx")
    assert "ASR_ALLOW_DOWNLOAD is off" in status.detail


def test_tiny_whisper_loads_through_the_real_faster_whisper_path(tiny_whisper):
    with asr_settings(ASR_MODEL=str(tiny_whisper["ct2_dir"])):
        backend = asr_backend()
        rng = np.random.default_rng(0)
        result = backend.transcribe(
            samples=rng.normal(0, 0.1, 16000 * 2).astype(np.float32), sample_rate=16000, language="en"
        )
        status = asr_status()
    assert backend.__class__.__name__ == "FasterWhisperBackend"
    assert (status.production, status.ok) == (True, True)
    assert status.backend.startswith("faster-whisper")
    assert status.detail == f"loaded {tiny_whisper['ct2_dir']}"
    assert result.low_accuracy is False
    assert all(s.avg_logprob is not None for s in result.segments)  # whisper confidences come through


def test_asr_and_vad_are_in_the_health_statuses(pocketsphinx_asr):
    names = {status.engine for status in engine_statuses()}
    assert {"asr", "vad"} <= names
