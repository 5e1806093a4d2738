"""Assessment LLM settings, read lazily so engines work outside Django too."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class AssessmentLlmConfig:
    base_url: str
    api_key: str
    model: str
    timeout_s: float
    retries: int  # extra attempts after an invalid reply


def _setting(name: str, default):
    # Engines are usable from scripts without Django: no settings, use the environment.
    with contextlib.suppress(Exception):
        from django.conf import settings

        if settings.configured:
            return getattr(settings, name, default)
    return os.environ.get(name, default)


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def assessment_llm_config() -> AssessmentLlmConfig | None:
    """The LLM to assess with, or None when none is configured or it is disabled."""
    base_url = str(_setting("LLM_BASE_URL", "") or "")
    if not base_url:
        return None
    enabled = _setting("ASSESSMENT_LLM_ENABLED", None)
    if enabled is not None and not _flag(enabled):
        return None
    return AssessmentLlmConfig(
        base_url=base_url,
        api_key=str(_setting("LLM_API_KEY", "") or "not-needed"),  # local servers accept any key
        model=str(_setting("LLM_MODEL", "") or "default"),
        timeout_s=float(_setting("LLM_TIMEOUT_S", 30) or 30),
        retries=int(_setting("ASSESSMENT_LLM_RETRIES", 1) or 0),
    )
