"""Fixtures for the speech engine tests: synthesized audio and a tiny Whisper, built once per session."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from tests.support.speech import speech_noise, speech_silence, speech_synthesize, speech_tools_available
from tests.support.tiny_whisper import tiny_whisper_build

TARGET_SENTENCE = "please tell me more about how you have been feeling"

requires_speech_tools = pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed")


@contextlib.contextmanager
def asr_settings(**values):
    """Override ASR_* settings in Django when configured, else in the environment; reload the backend."""
    from trainer_app.engines.speech.asr import asr_reset

    try:
        from django.conf import settings

        use_django = settings.configured
    except Exception:
        use_django = False
    asr_reset()
    if use_django:
        from django.test import override_settings

        with override_settings(**values):
            yield
    else:
        saved = {k: os.environ.get(k) for k in values}
        os.environ.update({k: str(v) for k, v in values.items()})
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    asr_reset()


@pytest.fixture
def pocketsphinx_asr():
    """The recognizer of last resort, chosen explicitly (fast; its accuracy figures are in test_pipeline)."""
    with asr_settings(ASR_MODEL="pocketsphinx"):
        yield


@pytest.fixture
def default_asr():
    """Nothing configured: the bundled Whisper weights (tiny.en live, base for recordings)."""
    with asr_settings(ASR_MODEL="", ASR_RECORDING_MODEL=""):
        yield


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory) -> Path:
    if not speech_tools_available():
        pytest.skip("espeak-ng and sox are needed")
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def target_wav(speech_dir) -> Path:
    return speech_synthesize(text=TARGET_SENTENCE, path=speech_dir / "target.wav", words_per_minute=160)


@pytest.fixture(scope="session")
def silence_wav(speech_dir) -> Path:
    return speech_silence(path=speech_dir / "silence.wav", seconds=3)


@pytest.fixture(scope="session")
def noise_wav(speech_dir) -> Path:
    return speech_noise(path=speech_dir / "noise.wav", seconds=3, amplitude=0.3)


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory) -> dict:
    """The tiny model's CTranslate2 dir and build time, built once per test session."""
    return tiny_whisper_build(out_dir=tmp_path_factory.mktemp("tiny_whisper"))
