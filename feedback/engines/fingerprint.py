"""Content fingerprints of frameworks, so caches notice edited exemplars.

Instructor corrections add exemplars to a framework; every index and
classifier built from it is keyed by slug + this hash, so the next
assessment after a correction is aligned to it without any explicit reset.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Only what changes an engine's behaviour; names and descriptions shown to
# people do not require a retrain (descriptions do feed the LLM prompt, which
# is built per call anyway).
_FINGERPRINT_KEYS = ("slug", "kind", "labels", "skills", "exemplars")


def framework_fingerprint(*, framework: dict) -> str:
    relevant = {key: framework.get(key) for key in _FINGERPRINT_KEYS}
    encoded = json.dumps(relevant, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()[:20]


def exemplar_id(*, framework_slug: str, exemplar: dict, index: int) -> str:
    """The DB primary key when the dict carries one, else the pack position."""
    if exemplar.get("id") is not None:
        return str(exemplar["id"])
    return f"{framework_slug}:{index}"


class FingerprintCache:
    """Objects built from a framework, keyed by (slug, fingerprint).

    A new fingerprint for a slug evicts the slug's older entries: an edited
    framework never needs its stale index again.
    """

    def __init__(self, *, maxsize: int = 32) -> None:
        self._maxsize = maxsize
        self._entries: OrderedDict[tuple[str, str], object] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, *, framework: dict, build: Callable[[], T]) -> T:
        key = (str(framework.get("slug", "")), framework_fingerprint(framework=framework))
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]  # type: ignore[return-value]
        built = build()  # outside the lock: building embeds, which is slow
        with self._lock:
            for stale in [k for k in self._entries if k[0] == key[0] and k != key]:
                del self._entries[stale]
            self._entries[key] = built
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)
        return built

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
