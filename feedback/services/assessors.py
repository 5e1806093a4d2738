"""The assessor for a framework, kept warm in the worker.

Building an assessor embeds every exemplar and trains classifiers (seconds);
assessing one utterance with a built one takes ~100 ms. The registry caches
assessors per framework content hash (an instructor correction changes the
hash, so the next turn gets a rebuilt assessor that knows it); the worker
builds them for every installed framework when it starts (worker_ready)."""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)

LIVE_KINDS = ("skill-rubric", "behaviour-coding", "formulation")
_build_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
_current: dict[str, tuple[tuple, dict]] = {}  # slug -> ((pk, revision, updated_at), pack dict)


def framework_current(*, slug: str) -> dict | None:
    """The framework in pack format (exemplars included), read again only when it changed.

    Why: reading the starter DEAR MAN framework's ~700 exemplars took ~20 ms of the worker's CPU per
    turn, twice what assessing the turn takes. One small query says whether the copy is current: any
    exemplar change bumps ``revision`` (feedback.framework_revisions), a framework edit ``updated_at``."""
    from feedback.models import Framework
    from feedback.selectors.frameworks import framework_pack_dict

    stamp = Framework.objects.filter(slug=slug).values_list("pk", "revision", "updated_at").first()
    if stamp is None:
        _current.pop(slug, None)
        return None
    cached = _current.get(slug)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    framework = framework_pack_dict(slug=slug)  # read after the stamp: a change meanwhile is re-read next time
    if framework is not None:
        _current[slug] = (stamp, framework)
    return framework


def assessor_get(*, framework: dict):
    """A built assessor for this exact framework content (None if it cannot be assessed per utterance).

    The registry caches assessors by framework content hash and LLM settings."""
    from feedback.engines.registry import AssessorUnavailable, assessor_for

    if framework.get("kind") not in LIVE_KINDS:
        return None
    slug = str(framework.get("slug", ""))
    with _locks_guard:
        lock = _build_locks.setdefault(slug, threading.Lock())
    # One build per framework at a time: a turn arriving while the worker is
    # still warming waits for that build instead of starting a second one.
    with lock:
        try:
            return assessor_for(framework=framework)
        except AssessorUnavailable:
            logger.exception("no assessor for framework %s", slug)
            return None


def assessors_warm() -> list[str]:
    """Build (and run once) the assessor of every installed framework; returns the slugs warmed."""
    from django.db import close_old_connections

    from feedback.models import Framework
    from feedback.selectors.frameworks import framework_pack_dict

    close_old_connections()
    warmed = []
    for slug in Framework.objects.filter(kind__in=LIVE_KINDS).values_list("slug", flat=True):
        try:
            framework = framework_pack_dict(slug=slug)
            assessor = assessor_get(framework=framework) if framework else None
            if assessor is not None:
                assessor.assess(utterance="Hello, thanks for coming in today.", context=[])
                warmed.append(slug)
        except Exception:  # a broken framework must not stop the others (it is reported when used)
            logger.exception("could not warm the assessor for framework %s", slug)
    close_old_connections()
    from trainer_app.gc_tuning import gc_freeze_after_warm_up

    gc_freeze_after_warm_up()
    logger.info("feedback assessors warm: %s", ", ".join(warmed) or "none")
    return warmed


def assessors_warm_in_background() -> threading.Thread:
    thread = threading.Thread(target=assessors_warm, name="feedback-assessor-warm", daemon=True)
    thread.start()
    return thread
