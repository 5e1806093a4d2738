"""The assessor for a framework, kept warm in the worker.

Building an assessor embeds every exemplar and trains classifiers (seconds);
assessing one utterance with a built one takes ~100 ms. The registry caches
assessors per framework content hash (an instructor correction changes the
hash, so the next turn gets a rebuilt assessor that knows it); the worker
builds them for every installed framework when it starts (worker_ready)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

logger = logging.getLogger(__name__)

LIVE_KINDS = ("skill-rubric", "behaviour-coding", "formulation")
_build_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class _Current:
    stamp: tuple  # (pk, revision, updated_at)
    pack: dict  # the framework in pack format, exemplars included
    info: object  # feedback.scoring.FrameworkInfo, from the same row as the pack


_current: dict[str, _Current] = {}  # slug -> the worker's copy
# slug -> (the pack dict it was built for, the LLM settings' key, the assessor): see assessor_get
_assessor_of: dict[str, tuple[dict, tuple | None, object]] = {}


def framework_current(*, slug: str) -> dict | None:
    """The framework in pack format (exemplars included), read again only when it changed.

    Why: reading the starter DEAR MAN framework's ~700 exemplars took ~20 ms of the worker's CPU per
    turn, twice what assessing the turn takes. One small query says whether the copy is current: any
    exemplar change bumps ``revision`` (feedback.framework_revisions), a framework edit ``updated_at``."""
    entry = _framework_entry(slug=slug)
    return entry.pack if entry is not None else None


def framework_current_pk(*, slug: str) -> int | None:
    """The pk of the framework whose copy ``framework_current`` returned last (no query)."""
    entry = _current.get(slug)
    return entry.stamp[0] if entry is not None else None


def framework_current_info(*, slug: str):
    """The FrameworkInfo (names, labels, targets) of the copy ``framework_current`` returned last,
    or None when there is none: the live push renders with it instead of reading the row again
    (the same row, checked by the same stamp query moments before)."""
    entry = _current.get(slug)
    return entry.info if entry is not None else None


def _framework_entry(*, slug: str) -> _Current | None:
    from feedback.models import Framework
    from feedback.scoring import framework_info_from_data
    from feedback.selectors.frameworks import framework_pack_dict

    stamp = Framework.objects.filter(slug=slug).values_list("pk", "revision", "updated_at").first()
    if stamp is None:
        _current.pop(slug, None)
        return None
    cached = _current.get(slug)
    if cached is not None and cached.stamp == stamp:
        return cached
    framework = framework_pack_dict(slug=slug)  # read after the stamp: a change meanwhile is re-read next time
    row = Framework.objects.filter(pk=stamp[0]).values_list("name", "kind", "data").first()
    if framework is None or row is None:
        return None
    entry = _Current(
        stamp=stamp, pack=framework, info=framework_info_from_data(slug=slug, name=row[0], kind=row[1], data=row[2])
    )
    _current[slug] = entry
    return entry


def assessor_get(*, framework: dict):
    """A built assessor for this exact framework content (None if it cannot be assessed per utterance).

    The registry caches assessors by framework content hash and LLM settings. Hashing the
    content (json of ~700 exemplars) cost ~2-4 ms per turn, so the assessor is also kept for the
    very pack dict it was built from: ``framework_current`` hands out the same dict until the
    framework changes, and a changed framework is a new dict (then the registry's hash decides)."""
    from feedback.engines.llm_settings import assessment_llm_config
    from feedback.engines.registry import AssessorUnavailable, assessor_for

    if framework.get("kind") not in LIVE_KINDS:
        return None
    slug = str(framework.get("slug", ""))
    config = assessment_llm_config()
    llm = (config.base_url, config.model, config.timeout_s, config.retries) if config else None
    kept = _assessor_of.get(slug)
    if kept is not None and kept[0] is framework and kept[1] == llm:
        return kept[2]
    with _locks_guard:
        lock = _build_locks.setdefault(slug, threading.Lock())
    # One build per framework at a time: a turn arriving while the worker is
    # still warming waits for that build instead of starting a second one.
    with lock:
        try:
            assessor = assessor_for(framework=framework)
        except AssessorUnavailable:
            logger.exception("no assessor for framework %s", slug)
            return None
    _assessor_of[slug] = (framework, llm, assessor)
    return assessor


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
