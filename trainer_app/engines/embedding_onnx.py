"""Run a mean-pooling sentence-transformers model with ONNX Runtime.

Why: a short utterance costs ~6-7 ms through PyTorch eager on one CPU thread
and ~2.5 ms through ONNX Runtime, with the same vectors (max difference
~1e-7). Every trainee turn is embedded several times (persona state, topic
match, leak check, each framework's assessment), so this is most of the
per-turn CPU on a small machine.

The graph is exported from the loaded model once (``torch.onnx.export``, ~1.5 s)
and cached under ``<VAR_DIR>/cache/embeddings/`` keyed by a hash of the model's
weights, so every process (web workers, Celery workers) reuses it. The export
is written to a temporary file and renamed, so processes racing to export never
read a half-written file. Only models made of Transformer + mean Pooling
(+ Normalize) are exported; anything else stays on PyTorch.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

_OPSET = 17


class OnnxUnavailable(Exception):  # noqa: N818 - reads as the reason
    """The model cannot run on ONNX Runtime here; the message says why."""


def onnx_exportable_reason(model) -> str:
    """"" when the model is Transformer + mean Pooling (+ Normalize), else why not."""
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
    return ""


def _weights_key(model) -> str:
    """A hash of the model's parameters (and export settings): a changed model gets a new file."""
    import torch

    digest = hashlib.sha256(f"opset{_OPSET}:v2".encode())
    with torch.no_grad():
        for name, tensor in model[0].auto_model.state_dict().items():
            digest.update(name.encode())
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(tensor.detach().to(torch.float32).contiguous().numpy().tobytes()[:4096])
            digest.update(str(float(tensor.float().sum())).encode())
    return digest.hexdigest()[:24]


def _export(model, path: Path) -> None:
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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
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
        os.replace(tmp, path)  # atomic: a racing process sees the whole file or none
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def _export_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class OnnxSentenceEncoder:
    """encode(texts) and encode_tokens(text) with the loaded model's tokenizer, on ONNX Runtime."""

    def __init__(self, *, model, cache_dir: Path, threads: int = 1):
        reason = onnx_exportable_reason(model)
        if reason:
            raise OnnxUnavailable(reason)
        import onnxruntime as ort  # a dependency; imported here because it is slow to import
        self.tokenizer = model.tokenizer
        self.max_length = int(getattr(model, "max_seq_length", 256) or 256)
        self.path = Path(cache_dir) / f"sentence-encoder-{_weights_key(model)}.onnx"
        if not self.path.exists():
            try:
                with _export_lock(self.path):  # processes starting together export once
                    if not self.path.exists():
                        _export(model, self.path)
            except Exception as exc:
                raise OnnxUnavailable(f"export to ONNX failed: {type(exc).__name__}: {exc}") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # e.g. a corrupt cache file: remove it so the next start re-exports
            self.path.unlink(missing_ok=True)
            raise OnnxUnavailable(f"ONNX Runtime could not load {self.path.name}: {exc}") from exc
        self.uses_token_type_ids = "token_type_ids" in {i.name for i in self.session.get_inputs()}

    def _feed(self, texts: list[str], **tokenizer_options) -> dict:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="np", **tokenizer_options
        )
        ids = batch["input_ids"].astype(np.int64)
        feed = {"input_ids": ids, "attention_mask": batch["attention_mask"].astype(np.int64)}
        if self.uses_token_type_ids:
            tt = batch.get("token_type_ids")
            feed["token_type_ids"] = np.zeros_like(ids) if tt is None else tt.astype(np.int64)
        if "offset_mapping" in batch:
            feed["offset_mapping"] = batch["offset_mapping"]
        return feed

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """L2-normalised float32 rows, in the order given (batches of similar length: less padding).

        Callers pass at least one text (``embeddings.embed`` answers an empty list itself)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        rows: dict[int, np.ndarray] = {}
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            vectors = self.session.run(["sentence_embedding"], self._feed([texts[i] for i in chunk]))[0]
            rows.update(zip(chunk, vectors, strict=True))
        return np.stack([rows[i] for i in range(len(texts))]).astype(np.float32, copy=False)

    def encode_tokens(self, text: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
        """(normalised sentence vector, token vectors, character offsets of each token) for one text."""
        feed = self._feed([text], return_offsets_mapping=True)  # one tokenizer pass for ids and offsets
        offsets = [(int(a), int(b)) for a, b in feed.pop("offset_mapping")[0]]
        sentence, tokens = self.session.run(["sentence_embedding", "token_embeddings"], feed)
        return sentence[0].astype(np.float32), tokens[0].astype(np.float32), offsets
