"""Voice activity detection: Silero VAD as shipped inside faster-whisper (ONNX, no download)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from trainer_app.engines.status import EngineStatus, register_engine

logger = logging.getLogger(__name__)

VAD_BACKEND = "silero (faster-whisper)"
SAMPLE_RATE = 16_000

_load_lock = threading.Lock()
_state: dict = {"loaded": False, "error": ""}


@dataclass(frozen=True)
class VadParams:
    threshold: float = 0.5
    min_speech_ms: int = 250  # shorter blips are clicks and breaths, not words
    min_silence_ms: int = 500  # a pause shorter than this stays inside one region
    speech_pad_ms: int = 200  # keep word onsets/offsets that sit just under the threshold
    max_region_s: float = 28.0  # whisper sees 30 s windows; keep regions inside one


def _vad_model():
    """Load the ONNX session once per process (faster-whisper's lru_cache is not lock-guarded)."""
    from faster_whisper.vad import get_vad_model

    if not _state["loaded"]:
        with _load_lock:
            if not _state["loaded"]:
                try:
                    get_vad_model()
                except Exception as exc:
                    _state["error"] = str(exc)
                    raise
                _state.update(loaded=True, error="")
    return get_vad_model()


def vad_speech_regions(
    *, samples: np.ndarray, sample_rate: int = SAMPLE_RATE, params: VadParams | None = None
) -> list[tuple[float, float]]:
    """Speech regions as (start_s, end_s), sorted, non-overlapping, within the audio."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"Silero VAD here expects {SAMPLE_RATE} Hz audio, got {sample_rate}")
    if len(samples) == 0:
        return []
    params = params or VadParams()
    _vad_model()
    options = VadOptions(
        threshold=params.threshold,
        min_speech_duration_ms=params.min_speech_ms,
        min_silence_duration_ms=params.min_silence_ms,
        speech_pad_ms=params.speech_pad_ms,
        max_speech_duration_s=params.max_region_s,
    )
    chunks = get_speech_timestamps(
        np.asarray(samples, dtype=np.float32), vad_options=options, sampling_rate=sample_rate
    )
    duration = len(samples) / sample_rate
    return [(max(0.0, c["start"] / sample_rate), min(duration, c["end"] / sample_rate)) for c in chunks]


def vad_status() -> EngineStatus:
    import glob
    import importlib.util
    import os

    if _state["error"]:
        return EngineStatus("vad", VAD_BACKEND, True, False, f"failed to load: {_state['error']}")
    if _state["loaded"]:
        return EngineStatus("vad", VAD_BACKEND, True, True, "loaded")
    try:
        from faster_whisper.utils import get_assets_path
    except Exception as exc:
        return EngineStatus("vad", VAD_BACKEND, True, False, f"faster-whisper not importable: {exc}")
    # the file name carries the Silero version (silero_vad_v6.onnx in faster-whisper 1.2)
    if not glob.glob(os.path.join(get_assets_path(), "silero_vad*.onnx")):
        return EngineStatus("vad", VAD_BACKEND, True, False, f"Silero model missing from {get_assets_path()}")
    if importlib.util.find_spec("onnxruntime") is None:
        return EngineStatus("vad", VAD_BACKEND, True, False, "onnxruntime is not installed")
    return EngineStatus("vad", VAD_BACKEND, True, True, "model present; loads on first use")


register_engine("vad", vad_status)
