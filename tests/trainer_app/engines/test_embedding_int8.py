"""The model's 8-bit copy (trainer_app/engines/embedding_int8.py): made by the export next to the float graph
(also for an entry exported before it existed, with no new export), checked against the float vectors (refused
when too far), picked by embed_fast (the persona's per-turn similarity) and never by embed; over the starter
packs' strings its vectors stay within cosine 0.995 of the float ones, and the persona's topic choices and
signals are the same on >= 99 % of the held-out probes."""

from __future__ import annotations

import json
import shutil
from collections import Counter, OrderedDict
from pathlib import Path

import numpy as np
import pytest
import yaml

from trainer_app.engines import embedding_export, embeddings
from trainer_app.engines.embedding_files import cache_entry
from trainer_app.engines.embedding_onnx import OnnxSentenceEncoder
from trainer_app.kept_results import KeptResults

REPO = Path(__file__).resolve().parents[3]
PACKS = sorted((REPO / "simulations" / "starter_packs").glob("*.yaml"))
PROBES = REPO / "tests" / "simulations" / "personas" / "data" / "topic_probes.yaml"


@pytest.fixture(scope="module")
def bundled():
    """The bundled model's entry in the test cache (exported before the tests; the copy added if missing)."""
    from django.conf import settings

    manifest = embedding_export.export(model_dir=embeddings.bundled_model_path(), cache_dir=settings.EMBEDDINGS_CACHE_DIR)
    return cache_entry(path=embeddings.bundled_model_path(), cache_dir=settings.EMBEDDINGS_CACHE_DIR), manifest


@pytest.fixture(scope="module")
def encoders(bundled):
    entry, _ = bundled
    return OnnxSentenceEncoder(entry=entry), OnnxSentenceEncoder(entry=entry, model_path=entry.int8)


def _strings(node, out: list[str]) -> list[str]:
    if isinstance(node, str):
        if len(node.strip()) >= 3 and " " in node.strip():
            out.append(node.strip())
    elif isinstance(node, dict):
        for value in node.values():
            _strings(value, out)
    elif isinstance(node, list):
        for value in node:
            _strings(value, out)
    return out


def _entry_copy(entry, cache_dir: Path, *, manifest: dict):
    """The float entry in another cache folder, as an export before the 8-bit copy existed left it."""
    copy = cache_entry(path=embeddings.bundled_model_path(), cache_dir=cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name in ("onnx", "tokenizer"):
        shutil.copyfile(getattr(entry, name), getattr(copy, name))
    copy.manifest.write_text(json.dumps({k: v for k, v in manifest.items() if k not in ("int8", "int8_refused")}))
    return copy


def test_the_export_makes_and_checks_the_8bit_copy(bundled):
    import onnx

    entry, manifest = bundled
    assert entry.int8.exists() and manifest["int8"]["file"] == entry.int8.name
    assert manifest["int8"]["min_cosine_to_float"] >= embedding_export.INT8_MIN_COSINE
    ops = Counter(node.op_type for node in onnx.load(str(entry.int8)).graph.node)
    # 6 layers x (query, key, value, attention output, intermediate, output): 8-bit; the attention's own
    # two products (no constant weights) stay float
    assert ops["MatMulNBits"] == 36 and ops["MatMul"] == 12
    assert entry.int8.stat().st_size < 0.7 * entry.onnx.stat().st_size


def test_an_entry_exported_before_the_copy_existed_gets_it_without_a_new_export(bundled, tmp_path, monkeypatch):
    entry, manifest = bundled
    copy = _entry_copy(entry, tmp_path / "cache", manifest=manifest)
    monkeypatch.setattr(embedding_export, "_graph_export", lambda *a, **k: pytest.fail("exported again"))
    again = embedding_export.export(model_dir=embeddings.bundled_model_path(), cache_dir=tmp_path / "cache")
    assert copy.int8.exists() and again["int8"]["min_cosine_to_float"] >= embedding_export.INT8_MIN_COSINE
    assert json.loads(copy.manifest.read_text()) == again
    copy.int8.unlink()  # deleted later: made again on the next export
    assert "int8" in embedding_export.export(model_dir=embeddings.bundled_model_path(), cache_dir=tmp_path / "cache")
    assert copy.int8.exists()


def test_a_copy_too_far_from_the_float_vectors_is_refused_and_the_persona_uses_float(bundled, tmp_path, monkeypatch,
                                                                                      settings):
    entry, manifest = bundled
    copy = _entry_copy(entry, tmp_path / "cache", manifest=manifest)
    monkeypatch.setattr(embedding_export, "INT8_MIN_COSINE", 1.01)  # no copy can be this close
    refused = embedding_export.export(model_dir=embeddings.bundled_model_path(), cache_dir=tmp_path / "cache")
    assert "under 1.01" in refused["int8_refused"] and "int8" not in refused and not copy.int8.exists()

    settings.EMBEDDINGS_CACHE_DIR = tmp_path / "cache"
    settings.EMBEDDINGS_MODEL, settings.EMBEDDINGS_RUNTIME = "", "onnx"
    monkeypatch.setattr(embeddings, "_state", {"encoder": None, "model": None, "backend": None, "production": False,
                                               "detail": "not loaded yet"})
    monkeypatch.setattr(embeddings, "_fast", {"encoder": None, "detail": "", "backend": None, "production": False})
    embeddings.embed_fast(["Hello."])
    assert embeddings._fast["encoder"] is embeddings._state["encoder"]  # the float encoder
    assert "float (cosine to the float vectors down to" in embeddings.embeddings_status().detail


def test_embed_fast_runs_the_copy_and_embed_the_float_graph(bundled, monkeypatch, settings):
    entry, _ = bundled
    settings.EMBEDDINGS_MODEL, settings.EMBEDDINGS_RUNTIME, settings.EMBEDDINGS_INT8 = "", "onnx", True
    fresh = {"encoder": None, "model": None, "backend": None, "production": False, "detail": "not loaded yet"}
    monkeypatch.setattr(embeddings, "_state", dict(fresh))
    monkeypatch.setattr(embeddings, "_fast", {"encoder": None, "detail": "", "backend": None, "production": False})
    fast = embeddings.embed_fast(["It sounds like that was a really hard evening for you."])
    assert embeddings._fast["encoder"].path == entry.int8
    assert embeddings._state["encoder"] is None  # the float graph is not even loaded (the web needs only this one)
    status = embeddings.embeddings_status()
    assert status.ok and "8-bit weights" in status.detail and "bundled" in status.backend
    assert "embedded default" in status.detail and "runtime: ONNX Runtime" in status.detail
    slow = embeddings.embed(["It sounds like that was a really hard evening for you."])
    assert embeddings._state["encoder"].path == entry.onnx
    assert float(fast[0] @ slow[0]) >= embedding_export.INT8_MIN_COSINE and not np.allclose(fast, slow, atol=1e-6)

    settings.EMBEDDINGS_INT8 = False
    monkeypatch.setattr(embeddings, "_fast", {"encoder": None, "detail": "", "backend": None, "production": False})
    assert np.array_equal(embeddings.embed_fast(["Hello."]), embeddings.embed(["Hello."]))
    assert "EMBEDDINGS_INT8 off" in embeddings.embeddings_status().detail


def test_vectors_agree_with_float_over_the_starter_packs_strings(encoders):
    strings = list(dict.fromkeys(s for pack in PACKS for s in _strings(yaml.safe_load(pack.read_text()), [])))
    sample = strings[::3]  # every third: ~1 300 strings, every pack and kind of line
    assert len(sample) > 1000
    reference, vectors = (encoder.encode(sample, batch_size=16) for encoder in encoders)
    cosine = np.sum(reference * vectors, axis=1)
    print(f"int8 vs float over {len(sample)} starter-pack strings: cosine min {cosine.min():.4f}, "
          f"p1 {np.percentile(cosine, 1):.4f}, mean {cosine.mean():.5f}")
    assert cosine.min() >= 0.995 and cosine.mean() >= 0.999


def test_persona_topic_choices_and_signals_agree_with_float(encoders, monkeypatch):
    """The persona's real matcher (centroids, acts, thresholds) on each starter persona's held-out probes and the
    bench's lines of its kind, once with each encoder: the same topic on >= 99 %, the same signals present."""
    from bench.utterances import CBT, DEAR_MAN, MI
    from simulations.personas import signals, topics, vectors

    probes = yaml.safe_load(PROBES.read_text())
    by_kind = {"cbt-patient": CBT, "interpersonal-partner": DEAR_MAN, "mi-client": MI}
    personas = [p for pack in PACKS for p in (yaml.safe_load(pack.read_text()) or {}).get("personas") or []
                if p.get("script")]
    assert len(personas) >= 10

    def choices(encoder):
        monkeypatch.setattr(embeddings, "_fast", {"encoder": encoder, "detail": "test", "backend": "test",
                                                  "production": False})
        monkeypatch.setattr(vectors, "_cache", OrderedDict())
        monkeypatch.setattr(topics, "_cache", OrderedDict())
        monkeypatch.setattr(signals, "_proto", {})
        monkeypatch.setattr(signals, "_signals_kept", KeptResults(size=256))  # scores kept per encoder too
        monkeypatch.setattr(topics, "_matches", KeptResults(size=256))
        picked = []
        for persona in personas:
            lines = [*_strings(probes["kinds"].get(persona.get("kind"), {}), []),
                     *_strings(probes["personas"].get(persona["slug"], []), []),
                     *_strings(probes.get("off_script", []), []), *by_kind.get(persona.get("kind"), [])]
            for line in dict.fromkeys(lines):
                picked.append(topics.persona_topic_match(persona=persona, text=line, history=[]).name)
        present = [signals.utterance_signals(text=line, last_persona_text="I just feel like I'm letting everyone "
                                             "down, to be honest.").present()
                   for line in dict.fromkeys(_strings(probes, []) + CBT + DEAR_MAN + MI)]
        return picked, present

    float_topics, float_signals = choices(encoders[0])
    int8_topics, int8_signals = choices(encoders[1])
    same_topic = np.mean([a == b for a, b in zip(float_topics, int8_topics, strict=True)])
    same_signals = np.mean([a == b for a, b in zip(float_signals, int8_signals, strict=True)])
    print(f"int8 vs float: same topic on {same_topic:.4f} of {len(float_topics)} choices, "
          f"same signals on {same_signals:.4f} of {len(float_signals)} lines")
    assert len(float_topics) > 1000
    assert same_topic >= 0.99 and same_signals >= 0.99
