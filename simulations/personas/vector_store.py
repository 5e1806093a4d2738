"""Persona-side vectors kept on disk, shared by a machine's processes and kept across restarts.

Why: the persona's reply is embedded after it is sent (the next turn's reflection score compares the
trainee's sentences with the persona's whole previous line). Shaped replies (openers, first
sentences, asides, tangents) are new texts, ~9 ms of CPU each (~25-30 % of replies in a capacity run's
first steps, ~3 ms a turn), and each web process embedded each of them once for itself: with two
web processes, a text one had embedded was embedded again by the other, and again after every
restart. The set of texts a script can produce is finite but too large to precompute (~2 400-3 600
per starter scenario without asides; asides and tangents multiply it), so the store keeps what was
actually said: each text is embedded once per machine.

What is kept: texts the persona side produces or authors (``vectors.text_vectors(persist=True)``:
replies, authored lines). Never the trainee's utterances (unbounded, and personal data). Lookups
are by the text's sha256; the file is named by what produced the vectors
(``embeddings.embed_fast_identity``: the model's export entry and its graph), so another model or
another graph never reads them. A vector read back is the bytes that were computed (float32), so a
score from it is the score from computing it again.

Best effort: a store that is locked (another process writing), missing or corrupt answers nothing
and takes nothing; the caller embeds. ``PERSONA_VECTOR_STORE`` turns it off; the file keeps at most
``PERSONA_VECTOR_STORE_MAX_ROWS`` vectors (the oldest go first).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vector (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key BLOB NOT NULL UNIQUE,
    vec BLOB NOT NULL
);
"""
_TRIM_EVERY = 500  # rows written by this process between two checks of the file's size
_READ_BATCH = 500  # keys per SELECT (SQLite builds before 3.32 allow 999 parameters)
_BUSY_S = 0.05  # a write waits this long for another process's; a read never waits (WAL)


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class VectorStore:
    """One SQLite file of (text sha256 -> float32 vector) for one vector producer."""

    def __init__(self, *, path: Path, dim: int, max_rows: int):
        self.path = Path(path)
        self.dim = dim
        self.max_rows = max_rows
        self._local = threading.local()
        self._written = 0
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._conn()
        conn.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(str(self.path), timeout=_BUSY_S, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # a commit lost on power loss is recomputed: a cache
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def get_many(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those ``texts`` that have one (never raises)."""
        keys = {_key(text): text for text in texts}
        if not keys:
            return {}
        found: dict[str, np.ndarray] = {}
        wanted = list(keys)
        rows = []
        try:
            conn = self._conn()
            for start in range(0, len(wanted), _READ_BATCH):
                batch = wanted[start : start + _READ_BATCH]
                rows += conn.execute(
                    f"SELECT key, vec FROM vector WHERE key IN ({','.join('?' * len(batch))})",  # noqa: S608 - placeholders
                    batch,
                ).fetchall()
        except sqlite3.Error as exc:
            logger.debug("persona vector store: read failed: %s", exc)
            return {}
        for key, blob in rows:
            if len(blob) == self.dim * 4:
                found[keys[bytes(key)]] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put_many(self, vectors: dict[str, np.ndarray]) -> None:
        """Keep these vectors (a text already kept keeps its first vector); never raises."""
        rows = [
            (_key(text), np.ascontiguousarray(vector, dtype=np.float32).tobytes())
            for text, vector in vectors.items()
            if vector.shape == (self.dim,)
        ]
        if not rows:
            return
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR IGNORE INTO vector (key, vec) VALUES (?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:  # locked by another process past _BUSY_S: this one is recomputed next time
            logger.debug("persona vector store: write failed: %s", exc)
            return
        with self._lock:
            self._written += len(rows)
            due = self._written >= _TRIM_EVERY
            if due:
                self._written = 0
        if due:
            self.trim()

    def trim(self) -> None:
        """Drop the oldest rows beyond ``max_rows`` (never raises)."""
        try:
            conn = self._conn()
            (last,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM vector").fetchone()
            if last > self.max_rows:
                conn.execute("DELETE FROM vector WHERE id <= ?", (last - self.max_rows,))
        except sqlite3.Error as exc:
            logger.debug("persona vector store: trim failed: %s", exc)

    def __len__(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM vector").fetchone()[0])


_store_lock = threading.Lock()
_stores: dict[tuple, VectorStore | None] = {}


def persona_vector_store() -> VectorStore | None:
    """This process's store for ``embed_fast``'s vectors (None: turned off, or the vectors cannot be named)."""
    from django.conf import settings

    from trainer_app.engines.embeddings import EMBEDDING_DIM, embed_fast_identity, embeddings_cache_dir

    if not settings.PERSONA_VECTOR_STORE:
        return None
    cache_dir = embeddings_cache_dir()
    max_rows = settings.PERSONA_VECTOR_STORE_MAX_ROWS
    key = (str(cache_dir), max_rows)
    store = _stores.get(key, False)
    if store is not False:
        return store
    with _store_lock:
        store = _stores.get(key, False)
        if store is False:
            store = None
            try:
                identity = embed_fast_identity()
                if identity:
                    name = hashlib.sha256(identity.encode()).hexdigest()[:24]
                    store = VectorStore(path=Path(cache_dir) / f"persona-vectors-{name}.sqlite3",
                                        dim=EMBEDDING_DIM, max_rows=max_rows)
            except (OSError, sqlite3.Error) as exc:
                logger.warning("persona vector store unavailable (%s): vectors are embedded in each process", exc)
                store = None
            _stores[key] = store
    return store


def persona_vector_stores_forget() -> None:
    """Tests: open the store again on the next use (settings or the cache directory changed)."""
    with _store_lock:
        _stores.clear()
