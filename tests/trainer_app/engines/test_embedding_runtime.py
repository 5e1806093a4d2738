"""The embedding engine runs the bundled MiniLM on ONNX Runtime: same vectors as PyTorch, cached export, clean fallback."""

from __future__ import annotations

import numpy as np
import pytest

from trainer_app.engines import embedding_onnx, embeddings

TEXTS = [
    "Hi.",
    "It sounds like you've been carrying a lot on your own lately, and it's wearing you down.",
    "What would you like to be different a month from now?",
    "I need you to give me the weekend off; I have worked the last four in a row.",
]


@pytest.fixture(scope="module")
def model():
    return embeddings.get_model()


@pytest.fixture
def onnx_encoder(model, tmp_path):
    return embedding_onnx.OnnxSentenceEncoder(model=model, cache_dir=tmp_path)


def test_onnx_vectors_match_pytorch(model, onnx_encoder):
    reference = model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    vectors = onnx_encoder.encode(TEXTS, batch_size=3)  # mixed lengths in one batch: padding must not matter
    assert vectors.shape == (len(TEXTS), embeddings.EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    assert np.abs(vectors - reference).max() < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_onnx_token_vectors_match_pytorch(model, onnx_encoder):
    text = TEXTS[1]
    output = model.encode([text], output_value=None, convert_to_numpy=False, show_progress_bar=False)[0]
    sentence, tokens, offsets = onnx_encoder.encode_tokens(text)
    assert np.abs(tokens - output["token_embeddings"].numpy()).max() < 1e-3
    expected = model.tokenizer(text, return_offsets_mapping=True, truncation=True)["offset_mapping"]
    assert offsets == [tuple(pair) for pair in expected] and len(offsets) == len(tokens)
    assert abs(float(np.linalg.norm(sentence)) - 1.0) < 1e-5


def test_export_is_cached_and_reused(model, onnx_encoder, tmp_path, monkeypatch):
    assert onnx_encoder.path.exists() and onnx_encoder.path.parent == tmp_path
    monkeypatch.setattr(embedding_onnx, "_export", lambda *a, **k: pytest.fail("exported twice"))
    again = embedding_onnx.OnnxSentenceEncoder(model=model, cache_dir=tmp_path)
    assert np.allclose(again.encode(TEXTS[:1]), onnx_encoder.encode(TEXTS[:1]))


def test_a_corrupt_cached_file_is_reported_and_removed(model, onnx_encoder, tmp_path):
    onnx_encoder.path.write_bytes(b"not an onnx model")
    with pytest.raises(embedding_onnx.OnnxUnavailable, match="could not load"):
        embedding_onnx.OnnxSentenceEncoder(model=model, cache_dir=tmp_path)
    assert not onnx_encoder.path.exists()  # the next start exports it again


def test_a_model_that_does_not_pool_by_mean_stays_on_pytorch():
    class Transformer:
        pass

    class Pooling:
        pooling_mode = "cls"

    assert "not mean" in embedding_onnx.onnx_exportable_reason([Transformer(), Pooling()])


def test_engine_falls_back_to_pytorch_when_the_export_fails(model, monkeypatch, settings, tmp_path):
    settings.VAR_DIR = tmp_path

    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(embedding_onnx, "_export", broken)
    encoder, detail = embeddings._onnx_encoder(model)
    assert encoder is None
    assert "PyTorch" in detail and "exporter exploded" in detail
    monkeypatch.setitem(embeddings._state, "encoder", None)
    vectors = embeddings.embed(TEXTS[:2])  # still real vectors, from PyTorch
    reference = model.encode(TEXTS[:2], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    assert np.abs(vectors - reference).max() < 1e-5


def test_runtime_torch_is_honoured(model, settings):
    settings.EMBEDDINGS_RUNTIME = "torch"
    encoder, detail = embeddings._onnx_encoder(model)
    assert encoder is None and "EMBEDDINGS_RUNTIME=torch" in detail


def test_health_detail_names_the_runtime(model):
    status = embeddings.embeddings_status()
    assert "runtime:" in status.detail
