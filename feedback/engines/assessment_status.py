"""Health of the "assessment" engine: which backend answers and why.

Production means an assessment LLM is configured and looks reachable: the
last real call succeeded, or (before any call, or when the last outcome is
stale) a TCP connection to its host opens. The offline backend is always
available, so the engine is ok either way; the detail says what is used.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

from feedback.engines.llm_settings import assessment_llm_config
from trainer_app.engines.status import EngineStatus, register_engine

_OUTCOME_FRESH_S = 300
_PROBE_CACHE_S = 30
_PROBE_TIMEOUT_S = 0.5

_lock = threading.Lock()
_last_outcome: dict = {"at": 0.0, "ok": False, "detail": ""}
_last_probe: dict = {"at": 0.0, "url": "", "ok": False, "detail": ""}


def llm_outcome_record(*, ok: bool, detail: str) -> None:
    with _lock:
        _last_outcome.update(at=time.monotonic(), ok=ok, detail=detail)


def _probe(*, base_url: str) -> tuple[bool, str]:
    with _lock:
        if _last_probe["url"] == base_url and time.monotonic() - _last_probe["at"] < _PROBE_CACHE_S:
            return _last_probe["ok"], _last_probe["detail"]
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "localhost", port), timeout=_PROBE_TIMEOUT_S):
            ok, detail = True, f"{parts.hostname}:{port} accepts connections"
    except OSError as exc:
        ok, detail = False, f"{parts.hostname}:{port} unreachable ({exc})"
    with _lock:
        _last_probe.update(at=time.monotonic(), url=base_url, ok=ok, detail=detail)
    return ok, detail


def assessment_status() -> EngineStatus:
    config = assessment_llm_config()
    if config is None:
        return EngineStatus(
            "assessment", "offline-embeddings", False, True,
            "no assessment LLM configured (LLM_BASE_URL unset or ASSESSMENT_LLM_ENABLED off); "
            "classifiers over expert exemplars",
        )
    with _lock:
        outcome = dict(_last_outcome)
    if outcome["at"] and time.monotonic() - outcome["at"] < _OUTCOME_FRESH_S:
        ok, detail = outcome["ok"], f"last call: {outcome['detail']}"
    else:
        ok, detail = _probe(base_url=config.base_url)
    if ok:
        return EngineStatus("assessment", f"llm:{config.model}", True, True, detail)
    return EngineStatus("assessment", "offline-embeddings", False, True, f"LLM {config.model} not usable, falling back: {detail}")


register_engine("assessment", assessment_status)
