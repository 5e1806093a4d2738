"""Import pyannote.audio the way this project runs it.

- Telemetry off: pyannote.audio 4 sends usage metrics unless PYANNOTE_METRICS_ENABLED is set before
  it is imported; the project sets it to 0 (settings.py, and here for scripts without Django).
- No torchcodec: the install leaves it out (its FFmpeg-linked libraries cannot load here), so
  pyannote's built-in file decoding is unavailable and it warns at import. We decode audio ourselves
  (trainer_app.engines.speech.audio) and hand pyannote in-memory waveforms, so that warning is
  expected and silenced; any other import failure propagates.
"""

from __future__ import annotations

import importlib
import os
import threading
import warnings
from types import ModuleType

_lock = threading.Lock()
_state: dict = {"module": None}


def pyannote_import() -> ModuleType:
    """`pyannote.audio` with its submodules used here (`pipelines`, `utils.signal`, `core`) imported."""
    if _state["module"] is None:
        with _lock:
            if _state["module"] is None:
                os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message=r"\s*torchcodec is not installed correctly")
                    module = importlib.import_module("pyannote.audio")
                    for sub in ("pipelines", "pipelines.clustering", "utils.signal", "core.pipeline"):
                        importlib.import_module(f"pyannote.audio.{sub}")
                _state["module"] = module
    return _state["module"]


def pyannote_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyannote.audio")
    except PackageNotFoundError:
        return ""
