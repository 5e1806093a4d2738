"""An embedding model's files and its ONNX export's cache entry, found without PyTorch.

Why: the web process encodes with ONNX Runtime and ``tokenizers`` only; importing
torch to find out which ONNX file belongs to the model (the old key was a hash of
the loaded parameters) cost every web process hundreds of MB. Here the cache entry
is keyed by the sha256 of the weights files and the small configuration files, read
from disk, so a changed model (or a changed export format) gets a new entry.

The entry (``<cache>/sentence-encoder-<key>.*``) is written by a separate process
(``trainer_app/engines/embedding_export.py``): ``.onnx`` (the graph), ``.tokenizer.json``
(the exact tokenizer the model uses), ``.int8.onnx`` (the graph with 8-bit weights, for the
persona's per-turn similarity choices: ``embedding_int8.py``; named in the manifest when made and
checked), ``.json`` (the manifest, written last: its presence means the entry is complete), or
``.failed.json`` when the export was refused or failed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Part of every key: bump it when the exported graph, the tokenizer copy or the manifest change.
EXPORT_FORMAT = "sentence-encoder-v3-opset17"
_WEIGHT_PATTERNS = ("model*.safetensors", "pytorch_model*.bin")
_CONFIG_SUFFIXES = (".json", ".txt", ".model")  # configs, vocab.txt / merges.txt, sentencepiece models
_CONFIG_MAX_BYTES = 32 * 1024 * 1024  # larger "configs" are data files that do not shape the export


@dataclass(frozen=True)
class EmbeddingCandidate:
    """A model the engine may use: the configured one first, the bundled one after it."""

    label: str  # what the health page shows
    path: Path  # its sentence-transformers directory
    production: bool  # EMBEDDINGS_MODEL (True) or the bundled embedded default
    note: str  # why this model is being used (or tried)


@dataclass(frozen=True)
class CacheEntry:
    key: str
    onnx: Path
    int8: Path
    tokenizer: Path
    manifest: Path
    failed: Path
    lock: Path

    def manifest_read(self) -> dict | None:
        try:
            return json.loads(self.manifest.read_text())
        except (OSError, ValueError):
            return None

    def failure_read(self) -> dict | None:
        try:
            return json.loads(self.failed.read_text())
        except (OSError, ValueError):
            return None


@lru_cache(maxsize=64)
def _file_sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per process for an unchanged file (same size and mtime)."""
    stat = Path(path).stat()
    return _file_sha256_cached(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def model_modules(path: Path) -> list[dict]:
    """modules.json of a sentence-transformers directory; a plain Hugging Face model directory has
    none, and sentence-transformers wraps it as Transformer + mean Pooling."""
    try:
        modules = json.loads((Path(path) / "modules.json").read_text())
    except FileNotFoundError:
        return [{"path": "", "type": "sentence_transformers.models.Transformer"},
                {"path": "", "type": "sentence_transformers.models.Pooling", "implicit_mean": True}]
    return sorted(modules, key=lambda m: int(m.get("idx", 0)))


def _kind(module: dict) -> str:
    return str(module.get("type", "")).rsplit(".", 1)[-1]


def transformer_dir(path: Path) -> Path:
    for module in model_modules(path):
        if _kind(module) == "Transformer":
            return Path(path) / module.get("path", "")
    return Path(path)


def declared_unexportable_reason(path: Path) -> str:
    """"" when the directory declares Transformer + mean Pooling (+ Normalize), the graph the
    ONNX path runs; else why not. The export process checks the loaded model again."""
    modules = model_modules(path)
    kinds = [_kind(m) for m in modules]
    if not kinds or kinds[0] != "Transformer":
        return f"first module is {kinds[:1]}, not a Transformer"
    pooling = [m for m in modules if _kind(m) == "Pooling"]
    if len(pooling) != 1:
        return "no single Pooling module"
    if not pooling[0].get("implicit_mean"):
        try:
            config = json.loads((Path(path) / pooling[0].get("path", "") / "config.json").read_text())
        except (OSError, ValueError) as exc:
            return f"pooling configuration unreadable: {exc}"
        modes = config.get("pooling_mode")  # sentence-transformers 6: "mean", or a list of modes
        if isinstance(modes, list):
            modes = modes[0] if len(modes) == 1 else tuple(modes)
        mean = modes == "mean" if modes else bool(config.get("pooling_mode_mean_tokens")) and not any(
            config.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                    "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                                    "pooling_mode_lasttoken"))
        if not mean:
            return f"pooling is not mean only ({ {k: v for k, v in config.items() if k.startswith('pooling_mode') and v} })"
    extra = [k for k in kinds[1:] if k not in ("Pooling", "Normalize")]
    if extra:
        return f"modules {extra} are not supported by the ONNX path"
    return ""


def weight_files(path: Path) -> list[Path]:
    folder = transformer_dir(path)
    found = sorted({p for pattern in _WEIGHT_PATTERNS for p in folder.glob(pattern) if p.is_file()})
    safetensors = [p for p in found if p.suffix == ".safetensors"]
    return safetensors or found  # sentence-transformers loads safetensors when both are there


def cache_key(path: Path) -> str:
    """sha256 over the export format, the weights files' sha256 and the configuration files' bytes."""
    path = Path(path)
    weights = weight_files(path)
    if not weights:
        raise FileNotFoundError(f"no weights file (model.safetensors or pytorch_model.bin) in {transformer_dir(path)}")
    digest = hashlib.sha256(EXPORT_FORMAT.encode())
    for weight in weights:
        digest.update(f"\0weights:{weight.name}:{file_sha256(weight)}".encode())
    folders = {path, transformer_dir(path), *(path / m.get("path", "") for m in model_modules(path))}
    for folder in sorted(folders):
        if not folder.is_dir():
            continue
        for config in sorted(folder.iterdir()):
            if config.suffix in _CONFIG_SUFFIXES and config.is_file() and config.stat().st_size <= _CONFIG_MAX_BYTES:
                digest.update(f"\0config:{config.relative_to(path)}:".encode())
                digest.update(config.read_bytes())
    return digest.hexdigest()[:32]


def cache_entry(*, path: Path, cache_dir: Path) -> CacheEntry:
    stem = Path(cache_dir) / f"sentence-encoder-{cache_key(path)}"
    return CacheEntry(
        key=stem.name.removeprefix("sentence-encoder-"),
        onnx=stem.with_name(stem.name + ".onnx"),
        int8=stem.with_name(stem.name + ".int8.onnx"),
        tokenizer=stem.with_name(stem.name + ".tokenizer.json"),
        manifest=stem.with_name(stem.name + ".json"),
        failed=stem.with_name(stem.name + ".failed.json"),
        lock=stem.with_name(stem.name + ".lock"),
    )


def model_dir_resolve(name_or_path: str) -> Path:
    """A local directory, or a Hugging Face model name already in the local cache (as
    sentence-transformers resolves it offline: ``name``, then ``sentence-transformers/name``)."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_dir():
        return candidate.resolve()
    from huggingface_hub import snapshot_download  # no torch; only for names, not paths

    repos = [name_or_path] if "/" in name_or_path else [name_or_path, f"sentence-transformers/{name_or_path}"]
    problems = []
    for repo in repos:
        try:
            return Path(snapshot_download(repo_id=repo, local_files_only=True))
        except Exception as exc:  # not a repo id, not in the cache
            problems.append(f"{repo}: {type(exc).__name__}")
    raise FileNotFoundError(f"not a directory and not in the local model cache ({'; '.join(problems)})")


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers see all or nothing."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
