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
from simulations.personas.vectors import text_vectors

logger = logging.getLogger(__name__)


def utterance_vectors_prefetch(*, text: str) -> None:
    """One embedding batch for every text the state update will ask for; never raises."""
    text = (text or "").strip()
    if not text:
        return
    try:
        text_vectors(texts=list(dict.fromkeys([*topic_candidates(text=text), *utterance_segments(text)])))
    except Exception:  # a cache fill only: the state update embeds what it needs itself
        logger.debug("utterance prefetch failed", exc_info=True)
