"""numpy's BLAS thread policy: BLAS_THREADS (default 1; 0 keeps the library's default, one thread per core).

OpenBLAS threads busy-wait between calls. On two cores, next to CTranslate2's OpenMP threads (Whisper)
and torch (the voice encoder), that made the recording pipeline's ASR and diarization several times
slower (284 s recording: pipeline 120 s with the default, 25 s with one BLAS thread; docs/recordings.md).
Applied at run time with threadpoolctl (the library is already loaded, so the environment variable
would come too late); calling it again is cheap and also covers a BLAS library loaded since."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def _configured() -> int:
    import os

    try:
        from django.conf import settings

        if settings.configured and hasattr(settings, "BLAS_THREADS"):
            return int(settings.BLAS_THREADS)
    except Exception as exc:  # no settings module: scripts and notebooks
        logger.debug("blas: Django settings unavailable (%s)", exc)
    return int(os.environ.get("BLAS_THREADS", "1"))


def blas_threads_limit() -> None:
    """Limit every loaded BLAS library to BLAS_THREADS threads (process-wide)."""
    threads = _configured()
    if threads > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")
