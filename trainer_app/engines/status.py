"""Engine status reporting shared by every engine, read by the health check."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class EngineStatus:
    engine: str
    backend: str
    production: bool
    ok: bool
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


_lock = threading.Lock()
_reporters: dict[str, callable] = {}


def register_engine(name: str, reporter) -> None:
    """Register a zero-argument callable returning an EngineStatus."""
    with _lock:
        _reporters[name] = reporter


def engine_statuses() -> list[EngineStatus]:
    with _lock:
        reporters = dict(_reporters)
    statuses = []
    for name, reporter in sorted(reporters.items()):
        try:
            statuses.append(reporter())
        except Exception as exc:  # a broken reporter must not break /healthz
            statuses.append(EngineStatus(name, "unknown", False, False, f"status check failed: {exc}"))
    return statuses
