"""Speech settings, read lazily so the engines work before (or without) Django settings."""

from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "ASR_MODEL": "",  # live voice turns; "" = the bundled Whisper tiny.en
    "ASR_RECORDING_MODEL": "",  # uploaded recordings; "" = the bundled Whisper base
    "ASR_BEAM_SIZE": 1,  # live: greedy decoding (latency)
    "ASR_RECORDING_BEAM_SIZE": 5,
    "ASR_CPU_THREADS": 0,  # CTranslate2 threads per model; 0 = min(4, cores)
    "ASR_WARM_ON_START": False,  # settings.py turns it on outside tests
    "ASR_ALLOW_DOWNLOAD": False,
    "ASR_DEVICE": "cpu",
    "ASR_COMPUTE_TYPE": "int8",
    "ASR_LANGUAGE": "en",
    "AUDIO_MAX_BYTES": 10 * 1024 * 1024,
    "AUDIO_MAX_SECONDS": 120,
    "VAR_DIR": "var",
    "DIARIZATION_PIPELINE": "",
    "DIARIZATION_ALLOW_DOWNLOAD": False,
    "DIARIZATION_DEVICE": "cpu",
    "HF_TOKEN": "",
}


def speech_setting(*, name: str) -> Any:
    """Django setting `name`, else the environment, else the default (scripts and notebooks)."""
    default = DEFAULTS[name]
    try:
        from django.conf import settings

        if settings.configured:
            return getattr(settings, name, default)
    except Exception as exc:  # settings module missing or broken: fall through to env
        logger.debug("speech settings: Django settings unavailable (%s)", exc)
    raw = os.environ.get(name)
    if raw is None:
        return default
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    return raw
