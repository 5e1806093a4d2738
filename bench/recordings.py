"""recording_pipeline_rtf: a generated two-voice recording (espeak-ng, ~5 minutes, with noise,
tone and click stretches) through every stage of the recording pipeline (decode → VAD →
(diarization ∥ ASR) → cleaning → roles → teaching-feedback analysis) as the workers run them:
the same recording_stage_run, in this process, in two threads as the embedded speech worker
has (recording_pipeline_run_here, also the analyze_recording command), against the sum of the
stage engines called directly on the same file, one after the other (decode, VAD, diarize, ASR
per window, hallucination filter, the teaching-feedback assessor per utterance). Both warm (a
short clip goes through both first). Real-time factor = wall time / audio duration; each
stage's share of the summed stage time is reported, and how much of it ran side by side.

    BENCH_RECORDING_SECONDS=60 python -m bench --only recordings   # a shorter run while developing
    BENCH_RECORDING_SEED=3 python -m bench --only recordings       # another variant of the recording

The recording is the same file on every run (seeded noise and dither, tests/support/recordings.py);
BENCH_RECORDING_SEED (default 0) picks a variant with the same words and timing.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import django_setup, figure

SCRIPT = (
    ("trainer", "Good morning. Today we will practise closing the wound with interrupted sutures."),
    ("trainee", "Okay. Should I start at the top of the incision?"),
    ("trainer", "Yes, start at the top and keep your needle at a right angle to the skin."),
    ("trainee", "Like this, with a small bite on each side?"),
    ("trainer", "Good, that is much better. Now pull gently and tie three knots."),
    ("trainee", "Got it. I am tying the knots now."),
    ("trainer", "Careful, you are pulling too hard. Ease off the tension a little."),
    ("trainee", "Sorry, is this better?"),
    ("trainer", "Yes. Look at the edges, they should just meet without puckering."),
    ("trainee", "I see. I will space the next one about five millimetres along."),
)


SPEECH_WORKER_THREADS = 2  # `manage.py serve` starts the speech worker with two threads


def _engines_direct(*, path: Path, framework: dict) -> dict[str, float]:
    """The stage engines called directly, timed per stage."""
    from feedback.engines.registry import assessor_for
    from feedback.services.recording_engines import asr_transcribe_window, diarize_samples
    from feedback.services.recording_pipeline import asr_windows
    from trainer_app.engines.speech.asr_types import AsrSegment
    from trainer_app.engines.speech.audio import audio_decode
    from trainer_app.engines.speech.hallucinations import segments_remove_hallucinations
    from trainer_app.engines.speech.vad import vad_speech_regions

    times: dict[str, float] = {}
    t = time.perf_counter()
    audio = audio_decode(source=path, filename="upload", max_bytes=10**10, max_seconds=10**6)
    times["decode"] = time.perf_counter() - t
    t = time.perf_counter()
    regions = vad_speech_regions(samples=audio.samples)
    times["vad"] = time.perf_counter() - t
    t = time.perf_counter()
    diarize_samples(samples=audio.samples, speech_regions=regions)
    times["diarize"] = time.perf_counter() - t
    t = time.perf_counter()
    raw = []
    for w0, w1 in asr_windows(regions=regions):
        segments, _ = asr_transcribe_window(samples=audio.samples[int(w0 * 16000) : int(np.ceil(w1 * 16000))], offset_s=w0)
        raw.extend(segments)
    times["asr"] = time.perf_counter() - t
    t = time.perf_counter()
    kept, _ = segments_remove_hallucinations(
        segments=[AsrSegment(s.start, s.end, s.text, s.avg_logprob, s.no_speech_prob, s.compression_ratio) for s in raw],
        speech_regions=regions,
    )
    times["clean"] = time.perf_counter() - t
    t = time.perf_counter()
    assessor = assessor_for(framework=framework)
    for i, segment in enumerate(kept):
        assessor.assess(utterance=segment.text, context=[{"speaker": "trainee", "text": k.text} for k in kept[max(0, i - 6) : i]])
    times["analysis"] = time.perf_counter() - t
    return times


def _pipeline(*, path: Path, uploader, cohort) -> tuple[dict[str, float], float, object]:
    import shutil

    from feedback.models import RecordingStage
    from feedback.models.recordings import STAGES
    from feedback.services.recording_pipeline import recording_pipeline_run_here
    from feedback.services.recordings import recording_create, temp_upload_path

    temp = temp_upload_path()
    shutil.copyfile(path, temp)
    t0 = time.perf_counter()
    recording = recording_create(source=temp, original_name=path.name, uploaded_by=uploader, title=path.stem, cohort=cohort,
                                 consent_statement="generated", framework_slug="teaching-feedback", enqueue=False)
    upload_s = time.perf_counter() - t0
    recording_pipeline_run_here(recording_id=recording.pk, threads=SPEECH_WORKER_THREADS)
    wall = time.perf_counter() - t0
    rows = {r.name: r for r in RecordingStage.objects.filter(recording=recording)}
    failed = [f"{n}: {r.error}" for n, r in rows.items() if r.status != "done"]
    if failed:
        raise RuntimeError("pipeline failed: " + "; ".join(failed))
    times = {name: rows[name].seconds for name in STAGES}
    times["upload_check"] = upload_s
    return times, wall, recording


def run(**_: str) -> dict:
    from tests.support.speech import speech_tools_available

    target = "<= 0.5"
    if not speech_tools_available():
        return {"recording_pipeline_rtf": figure(value=None, baseline=None, baseline_is="", target=target, unit="x real time",
                                                 n=0, met=False, error="espeak-ng / sox missing (make system-test-deps)")}
    var = Path(tempfile.mkdtemp(prefix="bench-recordings-"))
    django_setup(var)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.factories import CohortFactory, UserFactory
    from tests.feedback.live_support import starter_framework_install
    from tests.support.recordings import conversation_build

    framework_row = starter_framework_install("teaching-feedback")
    from feedback.selectors.frameworks import framework_pack_dict

    framework = framework_pack_dict(slug=framework_row.slug)
    uploader = UserFactory(username="bench-instructor", role="instructor")
    cohort = CohortFactory(owner=uploader)

    seconds = float(os.environ.get("BENCH_RECORDING_SECONDS", "300"))
    one_pass = 10 * 5.0  # about 5 s a turn, ten turns
    repeat = max(1, round(seconds / one_pass))
    seed = int(os.environ.get("BENCH_RECORDING_SEED", "0"))
    path, turns, others = conversation_build(
        path=var / "conversation.wav", script=SCRIPT, repeat=repeat, gap_s=0.5,
        nonspeech=((2, "noise", 4.0), (5, "tone", 3.0), (8, "clicks", 3.0)), seed=seed,
    )
    warm, _, _ = conversation_build(path=var / "warm.wav", script=SCRIPT[:3], nonspeech=())
    _pipeline(path=warm, uploader=uploader, cohort=cohort)
    _engines_direct(path=warm, framework=framework)

    from trainer_app.engines.blas import blas_threads_limit
    from trainer_app.engines.speech.audio import audio_decode

    blas_threads_limit()  # the baseline runs under the app's thread policy too (as the pipeline's run does)
    duration = audio_decode(source=path, filename="upload", max_bytes=10**10, max_seconds=10**6).duration_s
    stage_times, wall, recording = _pipeline(path=path, uploader=uploader, cohort=cohort)
    t = time.perf_counter()
    engine_times = _engines_direct(path=path, framework=framework)
    engines_wall = time.perf_counter() - t
    total_stage = sum(stage_times.values()) or 1.0
    rtf = wall / duration
    baseline = engines_wall / duration
    speakers = recording.speakers.filter(merged_into__isnull=True, segments__removed=False).distinct().count()
    return {"recording_pipeline_rtf": figure(
        value=round(rtf, 3), baseline=round(baseline, 3), baseline_is="the stage engines called directly on the same file",
        target=target, unit="x real time", n=1, audio_s=round(duration, 1), pipeline_wall_s=round(wall, 1),
        engines_wall_s=round(engines_wall, 1), ratio_to_baseline=round(rtf / baseline, 3) if baseline else None,
        stage_share={k: round(v / total_stage, 3) for k, v in stage_times.items()},
        stage_seconds_sum=round(total_stage, 1), side_by_side_s=round(max(0.0, total_stage - wall), 1),
        stage_seconds={k: round(v, 2) for k, v in stage_times.items()},
        engine_seconds={k: round(v, 2) for k, v in engine_times.items()},
        speakers_found=speakers, speakers_true=2, turns_true=len(turns), recording_seed=seed,
        segments_kept=recording.segments.filter(removed=False).count(), segments_removed=recording.segments.filter(removed=True).count(),
        cpu_cores=os.cpu_count(), load_average_1_5_15=[round(x, 2) for x in os.getloadavg()],
        asr_cpu_threads=os.environ.get("ASR_CPU_THREADS", "0 (min(4, cores))"),
    )}
