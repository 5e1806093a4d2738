"""Embed a trainee utterance while its turn is being stored.

Why: the persona state update (signals, topic match) needs the utterance's
vectors before a reply can start; computing them in parallel with the
database write takes them off the reply's critical path (the model releases
the GIL, so the two really overlap). Everything lands in the shared vector
cache (``vectors.text_vectors``), so the later calls find it there.
"""

from __future__ import annotations

import logging

from simulations.personas.signals import utterance_segments
from simulations.personas.topics import topic_candidates
from simulations.personas.vectors import text_vectors, text_vectors_pending

logger = logging.getLogger(__name__)


def _utterance_texts(text: str) -> list[str]:
    text = (text or "").strip()
    return list(dict.fromkeys([*topic_candidates(text=text), *utterance_segments(text)])) if text else []


def utterance_vectors_needed(*, text: str) -> bool:
    """Would the prefetch embed anything? (~10 us, on the event loop: the caller skips handing the
    prefetch to a thread when not.) Never raises: in doubt, yes."""
    try:
        return text_vectors_pending(texts=_utterance_texts(text))
    except Exception:
        logger.debug("utterance prefetch check failed", exc_info=True)
        return True


def utterance_vectors_prefetch(*, text: str) -> None:
    """One embedding batch for every text the state update will ask for; never raises."""
    texts = _utterance_texts(text)
    if not texts:
        return
    try:
        text_vectors(texts=texts)
    except Exception:  # a cache fill only: the state update embeds what it needs itself
        logger.debug("utterance prefetch failed", exc_info=True)
