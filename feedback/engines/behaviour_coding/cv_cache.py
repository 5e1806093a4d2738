"""A disk cache of fine-tuned members' out-of-fold probabilities.

Cross-validating one member fine-tunes it once per fold (about 40 minutes on
one CPU thread), and a run is deterministic (fixed seed, one thread), so a
member whose data, config, folds, step limit, training code and torch version
are unchanged gives the same probabilities again: they are read back instead.
The key covers all of those; anything else changed means a new key.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

PACKAGE_DIR = Path(__file__).resolve().parent
# The sources that decide a member's probabilities (inputs, tokenising, training, inference).
MEMBER_MODULES = ("annomi.py", "encoding.py", "features.py", "finetune.py")


def sources_sha256(*, names) -> str:
    """sha256 over some of this package's source files (names and contents): works without git history."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode())
        digest.update((PACKAGE_DIR / name).read_bytes())
    return digest.hexdigest()


class MemberCache:
    def __init__(self, *, directory: Path, data_sha256: str):
        self.directory = Path(directory)
        self.data_sha256 = data_sha256

    def key(self, *, config, splits, max_steps: int | None) -> str:
        import torch

        folds = hashlib.sha256(b"".join(np.asarray(test, dtype=np.int64).tobytes() + b"|" for _, test in splits))
        described = {
            "data": self.data_sha256,
            "config": {field: getattr(config, field) for field in config.__dataclass_fields__},
            "folds": folds.hexdigest(),
            "max_steps": max_steps,
            "code": sources_sha256(names=MEMBER_MODULES),
            "torch": torch.__version__,
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / f"member-{key}.npz"

    def read(self, *, key: str) -> dict[str, np.ndarray] | None:
        path = self._path(key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {name: stored[name] for name in stored.files}
        except (OSError, ValueError):  # a torn or corrupt file: recompute (and overwrite it)
            return None

    def write(self, *, key: str, probabilities: dict[str, np.ndarray]) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(key)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial.npz")
        np.savez(partial, **probabilities)
        os.replace(partial, path)  # readers never see half a file
        return path
