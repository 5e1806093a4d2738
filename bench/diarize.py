"""diarize_rtf: the embedded diarization backend (diarize(), everything included: VAD, loudness
normalisation, speaker-encoder windows, clustering, resegmentation, one embedding per speaker) on the
shared AMI clips, in seconds of processing per second of audio; against its own front end alone (Silero
VAD + speaker-encoder windows on the same clips), which is the part any embedding-based diarizer pays.

Models are loaded and pyannote.audio imported once before timing. Wall and CPU time are both reported
(the machine is shared: wall time is noisy, CPU time much less so). DER per file (pyannote.metrics,
no collar, overlap scored) comes along, so that a speed change is never read without its accuracy.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import REPO, django_setup, figure

AMI = REPO.parent / "shared" / "data" / "ami"
FILES = ("sample", "trn01", "trn02", "trn03", "trn04", "trn05")


def run() -> dict:
    if not (AMI / "sample.wav").is_file():
        return {"diarize_rtf": figure(value=None, baseline=None, baseline_is="VAD + speaker-encoder windows alone",
                                      target="<= 1.0", unit="s/s", n=0, met=False, error=f"AMI clips not found in {AMI}")}
    django_setup(Path(tempfile.mkdtemp(prefix="bench-diarize-")), DIARIZATION_PIPELINE="")
    from trainer_app.engines.speech.audio import audio_decode
    from trainer_app.engines.speech.diarization import diarize
    from trainer_app.engines.speech.diarization_embedded import (
        EmbeddedParams,
        _normalised_speech,
        speech_regions,
        window_embeddings,
    )
    from trainer_app.engines.speech.diarization_eval import der_components, der_metric, rttm_read, turns_annotation

    references = {**rttm_read(path=AMI / "sample.rttm"), **rttm_read(path=AMI / "train.rttm")}
    clips = {uri: audio_decode(source=AMI / f"{uri}.wav", max_seconds=600).samples for uri in FILES}
    diarize(samples=clips["sample"][: 16000 * 5])  # warm-up: imports, Silero and encoder loads
    params = EmbeddedParams()
    rows = []
    for uri, samples in clips.items():
        duration = len(samples) / 16000
        wall0, cpu0 = time.perf_counter(), time.process_time()
        regions = speech_regions(samples=samples, params=params)
        if regions:
            speech, _ = _normalised_speech(samples=samples, regions=regions, params=params)
            window_embeddings(speech=speech, params=params)
        base_wall, base_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = diarize(samples=samples)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        der = der_components(metric=der_metric(), reference=references[uri],
                             hypothesis=turns_annotation(turns=result.turns, uri=uri), uri=uri)  # fmt: skip
        rows.append({"file": uri, "duration_s": round(duration, 2), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                     "baseline_wall_s": round(base_wall, 2), "baseline_cpu_s": round(base_cpu, 2),
                     "speakers": len(result.speakers), **der.as_dict()})  # fmt: skip
    total = sum(r["duration_s"] for r in rows)
    rtf = sum(r["wall_s"] for r in rows) / total
    base = sum(r["baseline_wall_s"] for r in rows) / total
    trn = [r["der"] for r in rows if r["file"].startswith("trn")]
    return {"diarize_rtf": figure(
        value=round(rtf, 3), baseline=round(base, 3), baseline_is="Silero VAD + speaker-encoder windows alone, same clips",
        target="<= 1.0", unit="s/s", n=len(rows),
        cpu_rtf=round(sum(r["cpu_s"] for r in rows) / total, 3),
        baseline_cpu_rtf=round(sum(r["baseline_cpu_s"] for r in rows) / total, 3),
        der_sample=next(r["der"] for r in rows if r["file"] == "sample"), der_trn_mean=round(sum(trn) / len(trn), 4),
        backend=result.backend, files=rows,
    )}  # fmt: skip
