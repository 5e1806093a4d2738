"""Run an exported mean-pooling sentence encoder with ONNX Runtime and ``tokenizers``: no PyTorch.

Why: a short utterance costs ~6-7 ms through PyTorch eager on one CPU thread and
~2.5 ms through ONNX Runtime, with the same vectors (max difference ~1e-7); and a
web process that never imports torch (nor transformers / sentence-transformers)
stays a few hundred MB smaller. Every trainee turn is embedded several times
(persona state, topic match, leak check, each framework's assessment).

The graph, the model's own tokenizer and the tokenizer settings come from a cache
entry written by a separate process (``embedding_export.py``). Tokenisation is what
sentence-transformers does: the model's tokenizer with its special tokens, truncated
to the model's ``max_seq_length`` and padded to the longest text of the batch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainer_app.engines.embedding_files import CacheEntry


class OnnxUnavailable(Exception):  # noqa: N818 - reads as the reason
    """The model cannot run on ONNX Runtime here; the message says why."""


class OnnxSentenceEncoder:
    """encode(texts) and encode_tokens(text) from a complete cache entry."""

    def __init__(self, *, entry: CacheEntry, manifest: dict | None = None, threads: int = 1,
                 model_path: Path | None = None):
        """``model_path``: another graph of the same entry (its 8-bit copy, ``entry.int8``) instead of ``entry.onnx``."""
        import onnxruntime as ort  # slow to import: only when an encoder is built
        from tokenizers import Tokenizer

        manifest = manifest if manifest is not None else entry.manifest_read()
        if manifest is None:
            raise OnnxUnavailable(f"no complete export at {entry.manifest.name}")
        self.entry = entry
        self.path = Path(model_path) if model_path is not None else entry.onnx
        settings = manifest["tokenizer"]
        try:
            self.tokenizer = Tokenizer.from_file(str(entry.tokenizer))
        except Exception as exc:
            raise OnnxUnavailable(f"tokenizer {entry.tokenizer.name} could not load: {exc}") from exc
        # The file keeps whatever truncation / padding its last user set: set both as the model is called.
        self.tokenizer.enable_truncation(max_length=int(settings["max_length"]), strategy="longest_first",
                                         direction=settings.get("truncation_side") or "right")
        self.tokenizer.enable_padding(direction=settings.get("padding_side") or "right",
                                      pad_id=int(settings.get("pad_id") or 0),
                                      pad_type_id=int(settings.get("pad_type_id") or 0),
                                      pad_token=settings.get("pad_token") or "[PAD]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # e.g. a corrupt file: remove the entry so the next start exports it again
            for made in (entry.manifest, entry.onnx) if self.path == entry.onnx else (self.path,):
                made.unlink(missing_ok=True)
            raise OnnxUnavailable(f"ONNX Runtime could not load {self.path.name}: {exc}") from exc
        self.uses_token_type_ids = "token_type_ids" in {i.name for i in self.session.get_inputs()}

    def _feed(self, texts: list[str]) -> tuple[dict, list]:
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=True)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }
        if self.uses_token_type_ids:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        return feed, encodings

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """L2-normalised float32 rows, in the order given (batches of similar length: less padding).

        Callers pass at least one text (``embeddings.embed`` answers an empty list itself)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        rows: dict[int, np.ndarray] = {}
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            feed, _ = self._feed([texts[i] for i in chunk])
            vectors = self.session.run(["sentence_embedding"], feed)[0]
            rows.update(zip(chunk, vectors, strict=True))
        return np.stack([rows[i] for i in range(len(texts))]).astype(np.float32, copy=False)

    def encode_tokens(self, text: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
        """(normalised sentence vector, token vectors, character offsets of each token) for one text."""
        feed, encodings = self._feed([text])  # one tokenizer pass for ids and offsets
        offsets = [(int(a), int(b)) for a, b in encodings[0].offsets]
        sentence, tokens = self.session.run(["sentence_embedding", "token_embeddings"], feed)
        return sentence[0].astype(np.float32), tokens[0].astype(np.float32), offsets
