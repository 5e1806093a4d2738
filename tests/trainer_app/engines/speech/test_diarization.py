"""Diarization engine: the interface, the embedded backend on generated conversations, the pyannote
pipeline's real loading path with tiny random-weight models, fallback, status, and the AMI targets."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pytest

from tests.support.diarization_clips import conversation_build, conversation_rttm
from tests.support.speech import audio_read_wav, speech_tools_available

requires_speech_tools = pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed")


@pytest.fixture(autouse=True)
def _time_limit(request):
    """Every test here ends within its limit (SIGALRM; the tests run in the main thread)."""
    marker = request.node.get_closest_marker("slow")
    seconds = 900 if marker else 300

    def expire(signum, frame):
        raise TimeoutError(f"test exceeded its {seconds} s limit")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def conversation(tmp_path_factory):
    if not speech_tools_available():
        pytest.skip("espeak-ng and sox are needed")
    return conversation_build(path=tmp_path_factory.mktemp("diar") / "conversation.wav")


@pytest.fixture
def diarization_settings(settings):
    """Override DIARIZATION_* settings for one test and forget any loaded pipeline around it."""
    from trainer_app.engines.speech.diarization_pyannote import pipeline_reset

    pipeline_reset()
    yield settings
    pipeline_reset()


def _der(*, reference_rttm: str, turns, uri: str):
    from pyannote.core import Annotation, Segment

    from trainer_app.engines.speech.diarization_eval import der_components, der_metric, turns_annotation

    reference = Annotation(uri=uri)
    for line in reference_rttm.splitlines():
        f = line.split()
        reference[Segment(float(f[3]), float(f[3]) + float(f[4])), len(reference)] = f[7]
    return der_components(metric=der_metric(), reference=reference,
                          hypothesis=turns_annotation(turns=turns, uri=uri), uri=uri)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# pure parts


def test_viterbi_follows_scores_and_pays_for_switches():
    from trainer_app.engines.speech.diarization_embedded import viterbi

    scores = np.array([[1.0, 0.0]] * 5 + [[0.0, 1.0]] * 5 + [[0.4, 0.6]] + [[1.0, 0.0]] * 5)
    assert viterbi(scores=scores, switch_penalty=0.0).tolist() == [0] * 5 + [1] * 6 + [0] * 5
    # a single frame slightly favouring the other state is not worth two switches
    flicker = np.array([[1.0, 0.0]] * 5 + [[0.4, 0.6]] + [[1.0, 0.0]] * 5)
    assert viterbi(scores=flicker, switch_penalty=0.3).tolist() == [0] * 11
    # free switching at a chosen frame (a pause): the change lands exactly there
    penalties = np.full(len(scores), 5.0)
    penalties[5] = 0.0
    path = viterbi(scores=scores, switch_penalty=penalties)
    assert path[:5].tolist() == [0] * 5 and path[5] == 1


def test_speaker_count_arguments_are_validated():
    from trainer_app.engines.speech.diarization import diarize

    samples = np.zeros(16000, dtype=np.float32)
    with pytest.raises(ValueError, match="num_speakers must be a whole number of at least 1"):
        diarize(samples=samples, num_speakers=0)
    with pytest.raises(ValueError, match="larger than max_speakers"):
        diarize(samples=samples, min_speakers=3, max_speakers=2)
    with pytest.raises(ValueError, match="above max_speakers"):
        diarize(samples=samples, num_speakers=3, max_speakers=2)
    with pytest.raises(ValueError, match="16000 Hz"):
        diarize(samples=samples, sample_rate=8000)
    with pytest.raises(ValueError, match="mono"):
        diarize(samples=np.zeros((2, 100), dtype=np.float32))
    with pytest.raises(ValueError, match="not finite"):
        diarize(samples=np.full(100, np.nan, dtype=np.float32))


def test_silence_and_empty_audio_give_no_turns():
    from trainer_app.engines.speech.diarization import diarize

    assert diarize(samples=np.zeros(0, dtype=np.float32)).turns == []
    result = diarize(samples=np.zeros(3 * 16000, dtype=np.float32))
    assert result.turns == [] and result.speaker_embeddings == {}
    assert "no speech detected" in result.notes


def test_der_is_computed_by_pyannote_metrics_without_collar_and_with_overlap():
    from trainer_app.engines.speech.diarization import SpeakerTurn

    reference = "SPEAKER f 1 0.0 10.0 <NA> <NA> a <NA> <NA>\nSPEAKER f 1 10.0 10.0 <NA> <NA> b <NA> <NA>\n" \
                "SPEAKER f 1 15.0 5.0 <NA> <NA> a <NA> <NA>\n"  # fmt: skip
    turns = [SpeakerTurn(0.0, 12.0, "X"), SpeakerTurn(12.0, 21.0, "Y")]
    der = _der(reference_rttm=reference, turns=turns, uri="f")
    # reference speech 25 s; 5 s of overlap (a and b, 15–20) missed for one speaker; 2 s confused
    # (b's 10–12 labelled X); 1 s false alarm (20–21)
    assert der.reference_s == pytest.approx(25.0)
    assert der.missed == pytest.approx(5.0)
    assert der.confusion == pytest.approx(2.0)
    assert der.false_alarm == pytest.approx(1.0)
    assert der.der == pytest.approx(8.0 / 25.0)


def test_rttm_reader_rejects_broken_files(tmp_path):
    from trainer_app.engines.speech.diarization_eval import RttmError, rttm_read

    bad = tmp_path / "bad.rttm"
    bad.write_text("SPEAKER f 1 zero 1.0 <NA> <NA> a <NA> <NA>\n")
    with pytest.raises(RttmError, match=r"bad.rttm:1: start and duration must be numbers"):
        rttm_read(path=bad)
    bad.write_text("SPEAKER f 1\n")
    with pytest.raises(RttmError, match="at least 8 fields"):
        rttm_read(path=bad)
    bad.write_text("nothing here\n")
    with pytest.raises(RttmError, match="no SPEAKER lines"):
        rttm_read(path=bad)
    with pytest.raises(RttmError, match="cannot read"):
        rttm_read(path=tmp_path / "missing.rttm")


# ------------------------------------------------------------------------------------------------
# embedded backend


@requires_speech_tools
def test_embedded_backend_finds_two_voices_and_their_turns(conversation, diarization_settings):
    from trainer_app.engines.speech.diarization import diarize
    from trainer_app.engines.speech.diarization_embedded import BACKEND_NAME
    from trainer_app.engines.speech.speaker_embeddings import speaker_embed

    diarization_settings.DIARIZATION_PIPELINE = ""
    samples = audio_read_wav(path=conversation.path)
    result = diarize(samples=samples)
    assert result.backend == BACKEND_NAME
    assert result.speakers == ["SPEAKER_00", "SPEAKER_01"]
    assert [t.speaker for t in result.turns] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00", "SPEAKER_01"]
    der = _der(reference_rttm=conversation_rttm(conversation=conversation, uri="c"), turns=result.turns, uri="c")
    assert der.confusion == pytest.approx(0.0, abs=0.3)
    assert der.der < 0.15, der
    assert any("overlapped speech" in note for note in result.notes)
    # one L2-normalised embedding per speaker, in the enrolment space: closest to that voice's own line
    assert set(result.speaker_embeddings) == {"SPEAKER_00", "SPEAKER_01"}
    for vector in result.speaker_embeddings.values():
        assert vector.dtype == np.float32 and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
    a_start, a_end, _ = conversation.turns[0]
    voice_a = speaker_embed(samples=samples[int(a_start * 16000) : int(a_end * 16000)])
    sims = {k: float(v @ voice_a) for k, v in result.speaker_embeddings.items()}
    assert sims["SPEAKER_00"] > sims["SPEAKER_01"] + 0.1


def test_clustering_leaves_out_windows_across_a_pause():
    from trainer_app.engines.speech.diarization_embedded import EmbeddedParams, windows_for_clustering

    params = EmbeddedParams()  # 1.5 s windows
    # concatenated speech: regions [0, 4), [4, 5) (shorter than a window), [5, 9)
    boundaries = np.array([4 * 16000, 5 * 16000])
    centres = np.arange(0.75, 8.26, 0.25)
    chosen = windows_for_clustering(centres=centres, boundaries=boundaries, params=params)
    inside = [c for c, keep in zip(centres, chosen, strict=True) if keep]
    # windows inside [0, 4) and [5, 9), plus the one centred on the short region's middle (4.5 s)
    assert inside == [0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 4.5,
                      5.75, 6.0, 6.25, 6.5, 6.75, 7.0, 7.25, 7.5, 7.75, 8.0, 8.25]  # fmt: skip


@requires_speech_tools
def test_generated_recordings_are_repeatable_and_vary_by_seed(tmp_path):
    from tests.support.recordings import DEFAULT_SCRIPT, conversation_build

    def build(name: str, seed: int) -> bytes:
        path, _, _ = conversation_build(path=tmp_path / name, script=DEFAULT_SCRIPT[:3], seed=seed)
        return path.read_bytes()

    first = build("a.wav", seed=0)
    assert build("b.wav", seed=0) == first  # sox's clock-seeded dither and noise no longer leak in
    other = build("c.wav", seed=1)
    assert len(other) == len(first) and other != first  # same words and timing, other noise and dither


@requires_speech_tools
@pytest.mark.parametrize("seed", [0, 1])
def test_embedded_backend_keeps_one_voice_in_one_cluster_over_many_turns(seed, diarization_settings, tmp_path):
    """The recordings bench's script and voices (espeak-ng en+m1 / en-us+f2), twice over: 20 turns with
    pauses between them, ~100 s. Windows across a turn change hold the end of one voice and the start
    of the other; clustered with the rest they made extra "speakers" out of the turn edges (3 and 4
    speakers found on these two variants before windows across pauses were left out of the clustering;
    5 of 10 seeds split)."""
    from bench.recordings import SCRIPT
    from tests.support.recordings import conversation_build
    from trainer_app.engines.speech.diarization import diarize

    diarization_settings.DIARIZATION_PIPELINE = ""
    path, turns, _ = conversation_build(path=tmp_path / "long.wav", script=SCRIPT, repeat=2, gap_s=0.5,
                                        nonspeech=((2, "noise", 4.0), (5, "tone", 3.0)), seed=seed)  # fmt: skip
    result = diarize(samples=audio_read_wav(path=path))
    assert len(result.speakers) == 2, result.speakers
    reference = "".join(
        f"SPEAKER c 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n" for t in turns
    )
    der = _der(reference_rttm=reference, turns=result.turns, uri="c")
    assert der.confusion / der.reference_s < 0.05, der


@requires_speech_tools
def test_embedded_backend_honours_speaker_counts(conversation, diarization_settings):
    from trainer_app.engines.speech.diarization import diarize

    diarization_settings.DIARIZATION_PIPELINE = ""
    samples = audio_read_wav(path=conversation.path)
    assert diarize(samples=samples, num_speakers=1).speakers == ["SPEAKER_00"]
    assert diarize(samples=samples, max_speakers=1).speakers == ["SPEAKER_00"]
    assert len(diarize(samples=samples, min_speakers=3).speakers) == 3


# ------------------------------------------------------------------------------------------------
# production backend: pyannote pipeline, real loading path, tiny random weights


@pytest.fixture(scope="module")
def tiny_pipeline_dir(tmp_path_factory) -> Path:
    from tests.support.tiny_pyannote import tiny_pyannote_pipeline_build

    return tiny_pyannote_pipeline_build(root=tmp_path_factory.mktemp("pyannote") / "community-1-layout")


def test_tiny_pipeline_has_the_community_1_layout(tiny_pipeline_dir):
    import yaml

    config = yaml.safe_load((tiny_pipeline_dir / "config.yaml").read_text())
    params = config["pipeline"]["params"]
    assert config["pipeline"]["name"] == "pyannote.audio.pipelines.SpeakerDiarization"
    assert (params["segmentation"], params["embedding"], params["plda"]) == ("$model/segmentation", "$model/embedding", "$model/plda")
    for relative in ("segmentation/pytorch_model.bin", "embedding/pytorch_model.bin", "plda/plda.npz", "plda/xvec_transform.npz"):
        assert (tiny_pipeline_dir / relative).is_file()


@requires_speech_tools
def test_pyannote_backend_loads_a_local_pipeline_and_runs_end_to_end(tiny_pipeline_dir, diarization_settings, tmp_path):
    from trainer_app.engines.speech.diarization import diarization_status, diarize
    from trainer_app.engines.speech.diarization_pyannote import pipeline_state

    short = conversation_build(path=tmp_path / "short.wav", lines=[
        ("A", "so tell me what brought you in today"), ("B", "I have not slept well for weeks")])  # fmt: skip
    samples = audio_read_wav(path=short.path)
    diarization_settings.DIARIZATION_PIPELINE = str(tiny_pipeline_dir)
    status = diarization_status()
    assert status.backend.startswith("pyannote.audio pipeline") and "loads on first use" in status.detail

    result = diarize(samples=samples, num_speakers=2)

    from pyannote.audio.pipelines import SpeakerDiarization

    assert isinstance(pipeline_state()["pipeline"], SpeakerDiarization)  # Pipeline.from_pretrained(dir) built it
    assert result.backend == f"pyannote.audio pipeline ({tiny_pipeline_dir})"
    assert result.speakers == ["SPEAKER_00", "SPEAKER_01"]  # num_speakers reached the pipeline's clustering
    duration = len(samples) / 16000
    assert all(0.0 <= t.start < t.end <= duration + 0.05 for t in result.turns)
    assert set(result.speaker_embeddings) <= set(result.speakers)
    assert diarization_status().detail.startswith("loaded")
    assert len(diarize(samples=samples, max_speakers=1).speakers) == 1


def test_unloadable_pipeline_falls_back_to_the_embedded_backend_and_says_why(diarization_settings, tmp_path):
    from trainer_app.engines.speech.diarization import diarization_status, diarize
    from trainer_app.engines.speech.diarization_embedded import BACKEND_NAME

    diarization_settings.DIARIZATION_PIPELINE = str(tmp_path / "no-such-dir")
    status = diarization_status()
    assert status.backend == BACKEND_NAME and "does not exist" in status.detail and status.ok
    result = diarize(samples=np.zeros(16000, dtype=np.float32))
    assert result.backend == BACKEND_NAME
    assert any("does not exist" in note for note in result.notes)

    (tmp_path / "empty").mkdir()
    diarization_settings.DIARIZATION_PIPELINE = str(tmp_path / "empty")
    assert "no config.yaml" in diarization_status().detail

    diarization_settings.DIARIZATION_PIPELINE = "pyannote/speaker-diarization-community-1"
    diarization_settings.DIARIZATION_ALLOW_DOWNLOAD = False
    assert "DIARIZATION_ALLOW_DOWNLOAD is off" in diarization_status().detail


def test_status_names_the_embedded_backend_and_its_weak_spot(diarization_settings):
    from trainer_app.engines.speech.diarization import diarization_status
    from trainer_app.engines.status import engine_statuses

    diarization_settings.DIARIZATION_PIPELINE = ""
    status = diarization_status()
    assert status.ok and not status.production
    assert "overlapped speech" in status.detail
    assert any(s.engine == "diarization" for s in engine_statuses())


def test_pyannote_imports_without_telemetry():
    import os

    from trainer_app.engines.speech.pyannote_env import pyannote_import

    module = pyannote_import()
    assert module.__version__.startswith("4.")
    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "0"
    from pyannote.audio.telemetry.metrics import is_metrics_enabled

    assert is_metrics_enabled() is False


# ------------------------------------------------------------------------------------------------
# targets on real meeting speech


AMI_FILES = ("sample", "trn01", "trn02", "trn03", "trn04", "trn05")


@pytest.fixture(scope="module")
def ami_ders():
    """Per-file DER of the embedded backend on the shared AMI clips (computed once for the module)."""
    from django.test import override_settings

    from tests.conftest import SHARED_DATA  # the shared_data fixture is per test; this one is per module
    from trainer_app.engines.speech.audio import audio_decode
    from trainer_app.engines.speech.diarization import diarize
    from trainer_app.engines.speech.diarization_eval import der_components, der_metric, rttm_read, turns_annotation

    ami = SHARED_DATA / "ami"
    if not (ami / "sample.wav").is_file():
        pytest.skip(f"AMI clips not found in {ami}")
    references = {**rttm_read(path=ami / "sample.rttm"), **rttm_read(path=ami / "train.rttm")}
    ders = {}
    with override_settings(DIARIZATION_PIPELINE=""):
        for uri in AMI_FILES:
            decoded = audio_decode(source=ami / f"{uri}.wav", max_seconds=60)
            result = diarize(samples=decoded.samples)
            ders[uri] = der_components(metric=der_metric(), reference=references[uri],
                                       hypothesis=turns_annotation(turns=result.turns, uri=uri), uri=uri).der  # fmt: skip
    return ders


@pytest.mark.slow
def test_embedded_backend_meets_the_ami_sample_target(ami_ders):
    assert ami_ders["sample"] <= 0.20, ami_ders


@pytest.mark.slow
def test_embedded_backend_trn_clips_do_not_regress(ami_ders):
    trn_mean = sum(ami_ders[f"trn0{i}"] for i in range(1, 6)) / 5
    assert trn_mean <= 0.45, ami_ders  # measured 0.43 when written, 0.418 since 2026-12-07 (docs/speech-engines.md)


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason="target not met yet: trn01–trn05 mean DER measured 0.42 (trn01: Silero "
                   "finds none of its 5.75 s of reference speech, mostly three people overlapping)")
def test_embedded_backend_meets_the_ami_trn_target(ami_ders):
    trn_mean = sum(ami_ders[f"trn0{i}"] for i in range(1, 6)) / 5
    assert trn_mean <= 0.35, ami_ders


@pytest.mark.django_db
def test_healthz_names_the_diarization_backend(client, diarization_settings, tmp_path):
    import json

    from django.urls import reverse

    from trainer_app.engines.speech.diarization_embedded import BACKEND_NAME

    diarization_settings.DIARIZATION_PIPELINE = ""
    engines = {e["engine"]: e for e in json.loads(client.get(reverse("healthz")).content)["engines"]}
    assert engines["diarization"]["backend"] == BACKEND_NAME and engines["diarization"]["ok"] is True
    assert engines["diarization"]["production"] is False and "overlapped speech" in engines["diarization"]["detail"]

    diarization_settings.DIARIZATION_PIPELINE = str(tmp_path / "missing")
    engines = {e["engine"]: e for e in json.loads(client.get(reverse("healthz")).content)["engines"]}
    assert engines["diarization"]["backend"] == BACKEND_NAME
    assert "falling back to the embedded backend" in engines["diarization"]["detail"]
