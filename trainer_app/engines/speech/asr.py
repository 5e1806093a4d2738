"""ASR engine: one recognizer per purpose, picked from settings once per process, falling back and saying why.

Purposes: "live" (voice turns: latency first) and "recording" (uploaded recordings: accuracy and other
languages). For each, in order:

1. the configured model (``ASR_MODEL`` for live, ``ASR_RECORDING_MODEL`` for recordings): a local
   CTranslate2 directory, a faster-whisper name, or ``pocketsphinx``; the names ``tiny.en`` and
   ``base`` mean the bundled weights (no download);
2. the bundled Whisper weights, checked byte for byte (asr_models): tiny.en then base for live,
   base then tiny.en for recordings;
3. PocketSphinx, the recognizer of last resort (low accuracy, and labelled so).

The reason for every step skipped is kept and shown on /healthz (engines "asr" and "asr_recording").
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from trainer_app.engines.speech.asr_types import AsrBackend, AsrResult
from trainer_app.engines.speech.config import speech_setting
from trainer_app.engines.status import EngineStatus, register_engine

logger = logging.getLogger(__name__)

PURPOSES = ("live", "recording")
MODEL_SETTING = {"live": "ASR_MODEL", "recording": "ASR_RECORDING_MODEL"}
BEAM_SETTING = {"live": "ASR_BEAM_SIZE", "recording": "ASR_RECORDING_BEAM_SIZE"}
BUNDLED_ORDER = {"live": ("tiny.en", "base"), "recording": ("base", "tiny.en")}
ENGINE_NAME = {"live": "asr", "recording": "asr_recording"}
POCKETSPHINX = "pocketsphinx"
POCKETSPHINX_LABEL = "pocketsphinx (en-us, bundled)"


class AsrModelUnavailable(Exception):
    """An explicitly requested model could not be loaded (the message says why, in one line)."""


@dataclass(frozen=True)
class _Candidate:
    kind: str  # "configured", "bundled" or "pocketsphinx"
    model: str  # path or name; the bundled name for "bundled"


_load_lock = threading.Lock()
_loaded: dict[tuple, AsrBackend] = {}  # (kind, model, beam) -> backend, shared between purposes
_state: dict[str, dict] = {p: {"backend": None, "reason": "", "error": ""} for p in PURPOSES}


def _purpose_check(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown ASR purpose {purpose!r} (expected one of {', '.join(PURPOSES)})")
    return purpose


def _configured(*, purpose: str) -> str:
    return str(speech_setting(name=MODEL_SETTING[purpose]) or "").strip()


def _candidates(*, purpose: str) -> list[_Candidate]:
    from trainer_app.engines.speech.asr_models import bundled_model_name

    configured = _configured(purpose=purpose)
    out: list[_Candidate] = []
    if configured:
        if configured.lower() == POCKETSPHINX:
            return [_Candidate("pocketsphinx", POCKETSPHINX)]
        bundled = bundled_model_name(model=configured)
        out.append(_Candidate("bundled", bundled) if bundled else _Candidate("configured", configured))
    out += [_Candidate("bundled", name) for name in BUNDLED_ORDER[purpose] if _Candidate("bundled", name) not in out]
    out.append(_Candidate("pocketsphinx", POCKETSPHINX))
    return out


def _model_is_path(*, model: str) -> bool:
    return model.startswith(("/", ".", "~"))


def _beam_size(*, purpose: str) -> int:
    return max(1, int(speech_setting(name=BEAM_SETTING[purpose])))


def _whisper(*, model_dir: str, label: str, production: bool, beam_size: int) -> AsrBackend:
    from trainer_app.engines.speech.asr_faster_whisper import FasterWhisperBackend

    return FasterWhisperBackend(
        model=model_dir,
        device=str(speech_setting(name="ASR_DEVICE")),
        compute_type=str(speech_setting(name="ASR_COMPUTE_TYPE")),
        allow_download=bool(speech_setting(name="ASR_ALLOW_DOWNLOAD")),
        cpu_threads=int(speech_setting(name="ASR_CPU_THREADS")) or min(4, os.cpu_count() or 1),
        beam_size=beam_size,
        label=label,
        production=production,
    )


def _load_candidate(*, candidate: _Candidate, beam_size: int) -> AsrBackend:
    """Load one candidate (shared when another purpose already loaded the same one); raises on failure."""
    key = (candidate.kind, candidate.model, beam_size if candidate.kind != "pocketsphinx" else 0)
    if key in _loaded:
        return _loaded[key]
    if candidate.kind == "pocketsphinx":
        from trainer_app.engines.speech.asr_pocketsphinx import PocketsphinxBackend

        backend: AsrBackend = PocketsphinxBackend()
    elif candidate.kind == "bundled":
        from trainer_app.engines.speech.asr_models import bundled_model_dir

        model_dir = bundled_model_dir(name=candidate.model)  # sha256 of every file checked here
        backend = _whisper(
            model_dir=str(model_dir), label=f"{candidate.model}, bundled", production=False, beam_size=beam_size
        )
    else:
        backend = _whisper(model_dir=candidate.model, label="", production=True, beam_size=beam_size)
    _loaded[key] = backend
    return backend


def _failure(*, candidate: _Candidate, exc: Exception) -> str:
    from trainer_app.engines.speech.asr_models import BundledModelRefused

    if candidate.kind == "bundled" and isinstance(exc, BundledModelRefused):
        return f"bundled Whisper {candidate.model} refused: {exc}"
    reason = f"failed to load {candidate.model}: {exc}".strip()
    if (
        candidate.kind == "configured"
        and not speech_setting(name="ASR_ALLOW_DOWNLOAD")
        and not _model_is_path(model=candidate.model)
    ):
        reason += " (ASR_ALLOW_DOWNLOAD is off, so model names must already be in the local cache)"
    return reason


def _success(*, candidate: _Candidate, purpose: str) -> str:
    if candidate.kind == "configured":
        return f"loaded {candidate.model}"
    if candidate.kind == "bundled":
        return f"bundled Whisper {candidate.model} (sha256 of every file checked)"
    return "using the bundled pocketsphinx recognizer (low accuracy), the last fallback"


def _load(*, purpose: str) -> tuple[AsrBackend, str]:
    notes: list[str] = []
    if not _configured(purpose=purpose):
        notes.append(f"{MODEL_SETTING[purpose]} not set")
    beam_size = _beam_size(purpose=purpose)
    last_exc: Exception | None = None
    for candidate in _candidates(purpose=purpose):
        try:
            backend = _load_candidate(candidate=candidate, beam_size=beam_size)
        except Exception as exc:
            last_exc = exc
            reason = _failure(candidate=candidate, exc=exc)
            logger.warning("asr (%s): %s; trying the next recognizer", purpose, reason)
            notes.append(reason)
            continue
        notes.append(_success(candidate=candidate, purpose=purpose))
        return backend, "; ".join(notes)
    raise RuntimeError("; ".join(notes)) from last_exc


def asr_backend(*, purpose: str = "live") -> AsrBackend:
    """The process-wide recognizer for `purpose` ("live" or "recording"), loaded on first use."""
    state = _state[_purpose_check(purpose)]
    if state["backend"] is None:
        with _load_lock:
            if state["backend"] is None:
                try:
                    backend, reason = _load(purpose=purpose)
                except Exception as exc:
                    state["error"] = str(exc)
                    raise
                state.update(backend=backend, reason=reason, error="")
    return state["backend"]


def asr_backend_for_model(*, model: str, purpose: str = "recording") -> AsrBackend:
    """Exactly `model` (bundled name, path, hub name or "pocketsphinx"), no fallback.

    Raises AsrModelUnavailable with a one-line reason. For commands and evaluations; a model that a
    purpose already loaded is reused."""
    from trainer_app.engines.speech.asr_models import bundled_model_name

    model = model.strip()
    if not model:
        raise AsrModelUnavailable("no model named")
    if model.lower() == POCKETSPHINX:
        candidate = _Candidate("pocketsphinx", POCKETSPHINX)
    else:
        bundled = bundled_model_name(model=model)
        candidate = _Candidate("bundled", bundled) if bundled else _Candidate("configured", model)
    try:
        with _load_lock:
            return _load_candidate(candidate=candidate, beam_size=_beam_size(purpose=_purpose_check(purpose)))
    except Exception as exc:
        raise AsrModelUnavailable(" ".join(_failure(candidate=candidate, exc=exc).split())) from exc


def asr_reset() -> None:
    """Forget the loaded backends (tests, or after changing ASR settings)."""
    from trainer_app.engines.speech.asr_models import hashes_forget

    with _load_lock:
        _loaded.clear()
        for state in _state.values():
            state.update(backend=None, reason="", error="")
    hashes_forget()


def asr_language(*, language: str | None = None) -> str | None:
    """The language to ask for: the one given, else ASR_LANGUAGE; None (detect) for "" or "auto"."""
    value = (language if language is not None else str(speech_setting(name="ASR_LANGUAGE") or "")).strip()
    return None if value.lower() in {"", "auto"} else value


def asr_transcribe(
    *, samples, sample_rate: int = 16000, language: str | None = None, purpose: str = "live"
) -> AsrResult:
    """Transcribe 16 kHz mono float32 samples with the recognizer for `purpose`; words carry times."""
    return asr_backend(purpose=purpose).transcribe(
        samples=samples, sample_rate=sample_rate, language=asr_language(language=language)
    )


def asr_warm(*, purpose: str = "live") -> None:
    """Load the recognizer now (a worker's start-up), so the first voice turn does not wait for it."""
    asr_backend(purpose=purpose)


def asr_status(*, purpose: str = "live") -> EngineStatus:
    """What the recognizer for `purpose` is (or will be, checked without loading it) and why."""
    engine = ENGINE_NAME[_purpose_check(purpose)]
    state = _state[purpose]
    backend = state["backend"]
    if backend is not None:
        return EngineStatus(engine, backend.name, backend.production, True, state["reason"])
    if state["error"]:
        return EngineStatus(engine, "none", False, False, f"no recognizer could be loaded: {state['error']}")
    return _status_predicted(purpose=purpose, engine=engine)


def _status_predicted(*, purpose: str, engine: str) -> EngineStatus:
    from trainer_app.engines.speech.asr_models import bundled_model_check

    notes = [] if _configured(purpose=purpose) else [f"{MODEL_SETTING[purpose]} not set"]
    for candidate in _candidates(purpose=purpose):
        if candidate.kind == "configured":
            return EngineStatus(engine, f"faster-whisper ({candidate.model})", True, True, "configured; loads on first use")
        if candidate.kind == "bundled":
            problem = bundled_model_check(name=candidate.model)  # hashes once per process
            if problem:
                notes.append(f"bundled Whisper {candidate.model} refused: {problem}")
                continue
            notes.append(f"bundled Whisper {candidate.model} (sha256 of every file checked); loads on first use")
            return EngineStatus(engine, f"faster-whisper ({candidate.model}, bundled)", False, True, "; ".join(notes))
        notes.append("bundled pocketsphinx (low accuracy, the last fallback) loads on first use")
        return EngineStatus(engine, POCKETSPHINX_LABEL, False, True, "; ".join(notes))
    return EngineStatus(engine, "none", False, False, "; ".join(notes))


register_engine("asr", lambda: asr_status(purpose="live"))
register_engine("asr_recording", lambda: asr_status(purpose="recording"))
