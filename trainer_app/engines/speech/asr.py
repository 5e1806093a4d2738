"""ASR engine: pick a backend from settings once per process, fall back and say why.

ASR_MODEL set and loadable → faster-whisper (production). Otherwise → PocketSphinx, whose
model ships in its package (embedded default, low accuracy), with the reason in the status.
"""

from __future__ import annotations

import logging
import threading

from trainer_app.engines.speech.asr_types import AsrBackend, AsrResult
from trainer_app.engines.speech.config import speech_setting
from trainer_app.engines.status import EngineStatus, register_engine

logger = logging.getLogger(__name__)

_load_lock = threading.Lock()
_state: dict = {"backend": None, "reason": "", "error": ""}


def _load() -> tuple[AsrBackend, str]:
    model = str(speech_setting(name="ASR_MODEL") or "").strip()
    if model:
        from trainer_app.engines.speech.asr_faster_whisper import FasterWhisperBackend

        try:
            backend = FasterWhisperBackend(
                model=model,
                device=str(speech_setting(name="ASR_DEVICE")),
                compute_type=str(speech_setting(name="ASR_COMPUTE_TYPE")),
                allow_download=bool(speech_setting(name="ASR_ALLOW_DOWNLOAD")),
            )
            return backend, f"loaded {model}"
        except Exception as exc:
            reason = f"failed to load {model}: {exc}".strip()
            if not speech_setting(name="ASR_ALLOW_DOWNLOAD") and not _model_is_path(model=model):
                reason += " (ASR_ALLOW_DOWNLOAD is off, so model names must already be in the local cache)"
            logger.warning("asr: %s; falling back to pocketsphinx", reason)
    else:
        reason = "ASR_MODEL not set"
    from trainer_app.engines.speech.asr_pocketsphinx import PocketsphinxBackend

    return PocketsphinxBackend(), f"{reason}; using the bundled pocketsphinx recognizer (low accuracy)"


def _model_is_path(*, model: str) -> bool:
    return model.startswith(("/", ".", "~"))


def asr_backend() -> AsrBackend:
    """The process-wide ASR backend, loaded on first use."""
    if _state["backend"] is None:
        with _load_lock:
            if _state["backend"] is None:
                try:
                    backend, reason = _load()
                except Exception as exc:
                    _state["error"] = str(exc)
                    raise
                _state.update(backend=backend, reason=reason, error="")
    return _state["backend"]


def asr_reset() -> None:
    """Forget the loaded backend (tests, or after changing ASR settings)."""
    with _load_lock:
        _state.update(backend=None, reason="", error="")


def asr_transcribe(*, samples, sample_rate: int = 16000, language: str | None = None) -> AsrResult:
    return asr_backend().transcribe(
        samples=samples, sample_rate=sample_rate, language=language or str(speech_setting(name="ASR_LANGUAGE"))
    )


def asr_status() -> EngineStatus:
    backend = _state["backend"]
    if backend is not None:
        return EngineStatus("asr", backend.name, backend.production, True, _state["reason"])
    if _state["error"]:
        return EngineStatus("asr", "none", False, False, f"no recognizer could be loaded: {_state['error']}")
    model = str(speech_setting(name="ASR_MODEL") or "").strip()
    if model:
        return EngineStatus("asr", f"faster-whisper ({model})", True, True, "configured; loads on first use")
    return EngineStatus(
        "asr",
        "pocketsphinx (en-us, bundled)",
        False,
        True,
        "ASR_MODEL not set; bundled pocketsphinx (low accuracy) loads on first use",
    )


register_engine("asr", asr_status)
