"""Export a mean-pooling sentence-transformers model to ONNX, in its own process.

Run by ``manage.py export_embeddings`` (``manage.py serve`` runs it before the web and the
workers start; the Procfile's web line too) and, when a process finds no export for its
model, by that process as a subprocess (``python -m trainer_app.engines.embedding_export``):
PyTorch is loaded here, never in the web process. The graph is the model's Transformer
followed by mean pooling and L2 normalisation, returning the sentence vector and the token
vectors. Next to it: the exact tokenizer the model uses (``tokenizer.json``), the graph with 8-bit
weights (``embedding_int8.py``; kept when its vectors are close enough to the float ones) and a
manifest with the tokenizer settings, the largest difference from PyTorch on sample texts,
measured here after the export, and the 8-bit copy's smallest cosine to the float vectors. An
entry exported before the 8-bit copy existed gets it on the next export (no PyTorch needed). Files are written to temporary names and renamed, under a lock, so
processes starting together export once and never read a half-written entry.

    python -m trainer_app.engines.embedding_export --model-dir DIR --cache-dir DIR [--force]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

from trainer_app.engines.embedding_files import (
    EXPORT_FORMAT,
    CacheEntry,
    atomic_write,
    cache_entry,
    declared_unexportable_reason,
)

_OPSET = 17
# Texts the export is checked on (vectors compared with PyTorch): lengths from one token to past truncation.
CHECK_TEXTS = [
    "Hi.",
    "",
    "It sounds like you've been carrying a lot on your own lately, and it's wearing you down.",
    "What would you like to be different a month from now?",
    "I need you to give me the weekend off; I have worked the last four in a row.",
    "Naïve café owners — “quoted” text, émojis 🙂 and CJK 漢字 still tokenize the same way.",
    " ".join(["A long utterance that goes past the model's maximum sequence length."] * 40),
]
MAX_CHECK_DIFFERENCE = 1e-4  # larger: the export is refused and PyTorch computes the vectors
# The 8-bit copy (embedding_int8.py) is kept only when every CHECK_TEXTS vector is at least this close (cosine)
# to the float export's; the starter packs' strings measured 0.998 at worst. Refused: the persona uses float.
INT8_MIN_COSINE = 0.995


class ExportRefused(Exception):  # noqa: N818 - reads as the reason
    """The model loaded but cannot run on the ONNX path (``stage`` says where it stopped)."""

    def __init__(self, message: str, *, stage: str):
        super().__init__(message)
        self.stage = stage


@contextlib.contextmanager
def export_lock(entry: CacheEntry):
    entry.lock.parent.mkdir(parents=True, exist_ok=True)
    with open(entry.lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def onnx_exportable_reason(model) -> str:
    """"" when the loaded model is Transformer + mean Pooling (+ Normalize) with a fast tokenizer."""
    modules = list(model)
    names = [type(module).__name__ for module in modules]
    if not names or names[0] != "Transformer":
        return f"first module is {names[:1]}, not a Transformer"
    pooling = [m for m in modules if type(m).__name__ == "Pooling"]
    if len(pooling) != 1:
        return "no single Pooling module"
    mode = getattr(pooling[0], "pooling_mode", None)
    mean = mode == "mean" or (mode is None and getattr(pooling[0], "pooling_mode_mean_tokens", False))
    if not mean:
        return f"pooling mode {mode!r} is not mean"
    extra = [n for n in names[1:] if n not in ("Pooling", "Normalize")]
    if extra:
        return f"modules {extra} are not supported by the ONNX path"
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None or not getattr(tokenizer, "is_fast", False) or not hasattr(tokenizer, "backend_tokenizer"):
        return "the tokenizer is not a fast (tokenizers) tokenizer"
    return ""


def _graph_export(model, path: Path) -> list[str]:
    """torch.onnx.export of Transformer + mean pooling + normalisation; returns the input names."""
    import torch

    class _Graph(torch.nn.Module):
        def __init__(self, transformer, with_token_types: bool):
            super().__init__()
            self.transformer = transformer
            self.with_token_types = with_token_types

        def forward(self, input_ids, attention_mask, *token_type_ids):
            # Models whose tokenizer gives no token types (RoBERTa, MPNet) take none.
            extra = {"token_type_ids": token_type_ids[0]} if self.with_token_types else {}
            tokens = self.transformer(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1), tokens

    transformer = model[0].auto_model.eval()
    sample = model.tokenizer(["a short sample sentence"], return_tensors="pt")
    inputs = ["input_ids", "attention_mask"] + (["token_type_ids"] if "token_type_ids" in sample else [])
    dynamic = {name: {0: "batch", 1: "tokens"} for name in [*inputs, "token_embeddings"]}
    dynamic["sentence_embedding"] = {0: "batch"}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on shape checks that do not affect this graph
            torch.onnx.export(
                _Graph(transformer, with_token_types="token_type_ids" in inputs),
                tuple(sample[name] for name in inputs),
                tmp,
                input_names=inputs,
                output_names=["sentence_embedding", "token_embeddings"],
                dynamic_axes=dynamic,
                opset_version=_OPSET,
                dynamo=False,
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is shared like the rest of VAR_DIR
        os.replace(tmp, path)  # atomic: a racing reader sees the whole file or none
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return inputs


def _tokenizer_settings(model) -> dict:
    """What ``model.tokenizer(texts, padding=True, truncation=True, max_length=...)`` does, as data."""
    tokenizer = model.tokenizer
    return {
        "max_length": int(getattr(model, "max_seq_length", None) or tokenizer.model_max_length),
        "truncation_side": getattr(tokenizer, "truncation_side", "right"),
        "padding_side": getattr(tokenizer, "padding_side", "right"),
        "pad_token": tokenizer.pad_token,
        "pad_id": tokenizer.pad_token_id,
        "pad_type_id": getattr(tokenizer, "pad_token_type_id", 0),
    }


def _check(model, entry: CacheEntry, manifest: dict) -> float:
    """Largest absolute difference between the ONNX entry's vectors and PyTorch's on CHECK_TEXTS."""
    import numpy as np

    from trainer_app.engines.embedding_onnx import OnnxSentenceEncoder

    encoder = OnnxSentenceEncoder(entry=entry, manifest=manifest)
    reference = model.encode(CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    vectors = encoder.encode(CHECK_TEXTS, batch_size=4)
    return float(np.abs(vectors - reference).max())


def _int8_make(entry: CacheEntry, manifest: dict) -> dict:
    """Write the entry's 8-bit copy and check it against the float export: the manifest's fields for it
    (``int8``, or ``int8_refused`` with the reason; the float export is usable either way)."""
    import numpy as np

    from trainer_app.engines.embedding_int8 import BLOCK_SIZE, int8_model
    from trainer_app.engines.embedding_onnx import OnnxSentenceEncoder

    try:
        import onnx

        model = int8_model(onnx.load(str(entry.onnx)))
        fd, tmp = tempfile.mkstemp(prefix=f".{entry.int8.name}", suffix=".tmp", dir=entry.int8.parent)
        os.close(fd)
        try:
            onnx.save(model, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, entry.int8)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        reference = OnnxSentenceEncoder(entry=entry, manifest=manifest).encode(CHECK_TEXTS, batch_size=4)
        vectors = OnnxSentenceEncoder(entry=entry, manifest=manifest, model_path=entry.int8).encode(CHECK_TEXTS,
                                                                                                   batch_size=4)
        cosine = float(np.sum(reference * vectors, axis=1).min())  # both L2-normalised by the graph
    except Exception as exc:  # an ONNX Runtime without MatMulNBits, an odd graph: the persona uses float
        entry.int8.unlink(missing_ok=True)
        return {"int8_refused": f"{type(exc).__name__}: {exc}"}
    if cosine < INT8_MIN_COSINE:
        entry.int8.unlink(missing_ok=True)
        return {"int8_refused": f"cosine to the float vectors down to {cosine:.4f} (under {INT8_MIN_COSINE})"}
    return {"int8": {"file": entry.int8.name, "min_cosine_to_float": round(cosine, 5), "check_texts": len(CHECK_TEXTS),
                     "weights": f"8-bit, blocks of {BLOCK_SIZE}"}}


def int8_missing(entry: CacheEntry, manifest: dict) -> bool:
    """An entry exported before the 8-bit copy existed (or whose copy was deleted): made on the next export."""
    return "int8_refused" not in manifest and ("int8" not in manifest or not entry.int8.exists())


def _failure_write(entry: CacheEntry, *, stage: str, reason: str) -> None:
    atomic_write(entry.failed, json.dumps({"stage": stage, "reason": reason, "at": time.time()}).encode())


def export(*, model_dir: Path, cache_dir: Path, force: bool = False) -> dict:
    """The manifest of ``model_dir``'s ONNX entry in ``cache_dir``, exporting it if needed.

    Raises ExportRefused (stage "load": the model does not load at all; "export": it loads
    but cannot run on ONNX) after writing the reason to the entry's ``.failed.json``."""
    model_dir, cache_dir = Path(model_dir), Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    entry = cache_entry(path=model_dir, cache_dir=cache_dir)
    with export_lock(entry):  # processes starting together: one exports, the others find its entry
        manifest = entry.manifest_read()
        if manifest is not None and entry.onnx.exists() and entry.tokenizer.exists() and not force:
            if int8_missing(entry, manifest):  # no PyTorch needed: made from the float ONNX file
                manifest = {k: v for k, v in manifest.items() if k not in ("int8", "int8_refused")}
                manifest.update(_int8_make(entry, manifest))
                atomic_write(entry.manifest, json.dumps(manifest, indent=1).encode())
            return manifest
        failure = entry.failure_read()
        if failure is not None and not force:
            raise ExportRefused(failure["reason"], stage=failure["stage"])
        for stale in (entry.manifest, entry.failed, entry.int8):
            stale.unlink(missing_ok=True)
        declared = declared_unexportable_reason(model_dir)
        if declared:
            _failure_write(entry, stage="export", reason=declared)
            raise ExportRefused(declared, stage="export")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        started = time.monotonic()
        try:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(model_dir), device="cpu")
        except Exception as exc:
            _failure_write(entry, stage="load", reason=f"{type(exc).__name__}: {exc}")
            raise ExportRefused(f"{type(exc).__name__}: {exc}", stage="load") from exc
        reason = onnx_exportable_reason(model)
        if reason:
            _failure_write(entry, stage="export", reason=reason)
            raise ExportRefused(reason, stage="export")
        try:
            inputs = _graph_export(model, entry.onnx)
            atomic_write(entry.tokenizer, model.tokenizer.backend_tokenizer.to_str().encode())
            manifest = {
                "format": EXPORT_FORMAT, "key": entry.key, "model_dir": str(model_dir), "inputs": inputs,
                "tokenizer": _tokenizer_settings(model),
            }
            difference = _check(model, entry, manifest)
        except Exception as exc:
            for made in (entry.onnx, entry.tokenizer):
                made.unlink(missing_ok=True)
            _failure_write(entry, stage="export", reason=f"export to ONNX failed: {type(exc).__name__}: {exc}")
            raise ExportRefused(f"export to ONNX failed: {type(exc).__name__}: {exc}", stage="export") from exc
        if difference > MAX_CHECK_DIFFERENCE:
            for made in (entry.onnx, entry.tokenizer):
                made.unlink(missing_ok=True)
            reason = f"ONNX vectors differ from PyTorch's by up to {difference:.1e} (over {MAX_CHECK_DIFFERENCE:.0e})"
            _failure_write(entry, stage="export", reason=reason)
            raise ExportRefused(reason, stage="export")
        manifest.update(max_difference_from_pytorch=difference, check_texts=len(CHECK_TEXTS))
        manifest.update(_int8_make(entry, manifest))
        manifest["export_seconds"] = round(time.monotonic() - started, 2)
        atomic_write(entry.manifest, json.dumps(manifest, indent=1).encode())  # last: the entry is usable from here
        return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer_app.engines.embedding_export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True, type=Path)
    parser.add_argument("--cache-dir", required=True, type=Path)
    parser.add_argument("--force", action="store_true", help="export again even if an entry (or a failure) exists")
    opts = parser.parse_args(argv)
    try:
        manifest = export(model_dir=opts.model_dir, cache_dir=opts.cache_dir, force=opts.force)
    except ExportRefused as exc:
        print(json.dumps({"ok": False, "stage": exc.stage, "reason": str(exc)}))
        return 2
    print(json.dumps({"ok": True, **manifest}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
