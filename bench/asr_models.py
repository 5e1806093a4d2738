"""asr_tiny_rtf and asr_base_rtf: real-time factor of the bundled Whisper models as the app runs them
(decode → VAD → ASR with word times → hallucination removal, trainer_app.engines.speech.rtf), each
beside its baseline: the same model called directly with faster-whisper on the same file (its own
decoding, the same beam size, word timestamps and thread count). Paired clip by clip, warm models.

RTF = processing time / audio duration (below 1 is faster than real time)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench.common import figure, summary

CLIPS = [  # espeak-ng at 150 wpm: ~3 to ~8 s each
    "I think I'd like to talk about the argument we had last week.",
    "Can you tell me what went through your mind when your manager said that in the meeting?",
    "It sounds like part of you wants to cut down, and part of you worries about how you would unwind "
    "after work without a drink.",
]
TARGET = "<= 1.0"  # faster than real time on this machine


def _direct(*, model_dir: str, beam_size: int, threads: int):
    """faster-whisper called as its documentation shows, with the app's decoding settings."""
    from faster_whisper import WhisperModel

    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True)

    def transcribe(path: Path) -> tuple[float, str]:
        t0 = time.perf_counter()
        segments, _info = model.transcribe(str(path), language="en", beam_size=beam_size, word_timestamps=True,
                                           condition_on_previous_text=False)
        text = " ".join(s.text.strip() for s in segments)  # the generator decodes as it is consumed
        return time.perf_counter() - t0, text

    return transcribe


def _measure(*, name: str, purpose: str, paths: list[Path]) -> dict:
    import os

    from tests.support.speech import wer_compute
    from trainer_app.engines.speech.asr import asr_backend_for_model
    from trainer_app.engines.speech.config import speech_setting
    from trainer_app.engines.speech.rtf import speech_rtf

    backend = asr_backend_for_model(model=name, purpose=purpose)
    threads = int(speech_setting(name="ASR_CPU_THREADS")) or min(4, os.cpu_count() or 1)
    direct = _direct(model_dir=backend.model_ref, beam_size=backend.beam_size, threads=threads)
    speech_rtf(audio_bytes=paths[0], filename=paths[0].name, warmup=True, backend=backend)  # warm both
    direct(paths[0])
    rows = []
    for i, path in enumerate(paths):
        app = speech_rtf(audio_bytes=path, filename=path.name, warmup=False, backend=backend)
        direct_s, direct_text = direct(path)
        rows.append({"clip": i, "duration_s": round(app.duration_s, 2), "app_s": round(app.total_s, 3),
                     "direct_s": round(direct_s, 3), "app_wer": round(wer_compute(reference=CLIPS[i], hypothesis=app.text), 3),
                     "direct_wer": round(wer_compute(reference=CLIPS[i], hypothesis=direct_text), 3), "text": app.text})
    audio = sum(r["duration_s"] for r in rows)
    app_rtf = sum(r["app_s"] for r in rows) / audio
    direct_rtf = sum(r["direct_s"] for r in rows) / audio
    return figure(
        value=round(app_rtf, 3), baseline=round(direct_rtf, 3),
        baseline_is=f"faster-whisper's WhisperModel called directly on the same file (int8, beam {backend.beam_size}, "
                    f"word timestamps, {threads} threads)",
        target=TARGET, unit="RTF", n=len(rows), ratio_to_baseline=round(app_rtf / direct_rtf, 3),
        rtf_per_clip=summary([r["app_s"] / r["duration_s"] for r in rows], 3),
        asr_backend=backend.name, beam_size=backend.beam_size, cpu_threads=threads, clips=rows,
        audio_seconds_total=round(audio, 1),
    )


def run() -> dict:
    from tests.support.speech import speech_synthesize, speech_tools_available

    t_start = time.perf_counter()
    if not speech_tools_available():
        missing = figure(value=None, baseline=None, baseline_is="", target=TARGET, unit="RTF", n=0, met=False,
                         error="espeak-ng / sox missing (make system-test-deps)")
        return {"asr_tiny_rtf": missing, "asr_base_rtf": missing}
    import os
    import sys

    from bench.common import REPO

    tmp = Path(tempfile.mkdtemp(prefix="bench-asr-models-"))
    os.environ.setdefault("VAR_DIR", str(tmp / "var"))  # base is assembled into its cache here
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    try:
        paths = [speech_synthesize(text=t, path=tmp / f"clip{i}.wav", words_per_minute=150) for i, t in enumerate(CLIPS)]
        out = {
            "asr_tiny_rtf": _measure(name="tiny.en", purpose="live", paths=paths),
            "asr_base_rtf": _measure(name="base", purpose="recording", paths=paths),
        }
        out["_timings"] = {"asr_models_total_s": round(time.perf_counter() - t_start, 1)}
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
