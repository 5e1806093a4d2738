"""Hallucination removal measured on generated audio with known truth.

A two-voice espeak conversation with non-speech stretches between turns: pink noise, a
music-like chord, clicks, and noise carrying a quiet whispered boilerplate line. The recognizer
(recording purpose) is run the way that invites hallucinations, on fixed 28 s windows over the
whole file with no VAD gating, so that it sees every stretch; each recognized segment is labelled
a hallucination when less than half of it lies inside a reference speech turn. The recording
pipeline's removal rules (recording_pipeline.segment_removal_reason: VAD, whisper signals, loops,
boilerplate, diarized turns, voice match) then decide each segment. Reported: precision and
recall of removal, the reasons used, and the word error rate of the transcript before and after.

    python -m bench --only recording_hallucinations
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import django_setup, figure

PLANTED = ("Thanks for watching, and please subscribe to my channel.", "Subtitles by the Amara dot org community.")


def run(**_: str) -> dict:
    from tests.support.speech import speech_tools_available

    if not speech_tools_available():
        return {"recording_hallucination_removal_f1": figure(value=None, baseline=None, baseline_is="", target=">= 0.8", unit="F1",
                                                             n=0, met=False, error="espeak-ng / sox missing")}
    var = Path(tempfile.mkdtemp(prefix="bench-halluc-"))
    django_setup(var)
    from feedback.services.recording_engines import asr_transcribe_window, diarize_samples
    from feedback.services.recording_pipeline import segment_removal_reason
    from tests.support import recordings as gen
    from tests.support.speech import wer_compute
    from trainer_app.engines.speech.audio import audio_decode
    from trainer_app.engines.speech.vad import vad_speech_regions

    t0 = time.perf_counter()
    results = []
    for case, (nonspeech, planted) in enumerate([
        (((0, "noise", 6.0), (2, "tone", 6.0), (4, "clicks", 6.0)), ""),
        (((1, "noise", 6.0), (3, "tone", 5.0), (5, "clicks", 5.0)), PLANTED[0]),
        (((0, "noise", 8.0), (2, "clicks", 6.0), (4, "tone", 6.0)), PLANTED[1]),
        # long stretches: whole 28 s windows with little or no speech, where Whisper invents most
        (((0, "noise", 25.0), (2, "tone", 25.0), (4, "clicks", 25.0)), ""),
        (((1, "noise", 30.0), (3, "clicks", 20.0)), PLANTED[0]),
    ]):
        path, turns, _ = gen.conversation_build(path=var / f"case{case}.wav", nonspeech=nonspeech, planted=planted, repeat=2)
        samples = audio_decode(source=path, filename="upload", max_bytes=10**10, max_seconds=10**6).samples
        duration = len(samples) / 16000
        raw = []
        for w0 in np.arange(0.0, duration, 28.0):
            w1 = min(duration, w0 + 28.0)
            segs, _ = asr_transcribe_window(samples=samples[int(w0 * 16000) : int(w1 * 16000)], offset_s=float(w0))
            raw.extend(segs)
        regions = vad_speech_regions(samples=samples)
        diar = diarize_samples(samples=samples, speech_regions=regions)
        reference = " ".join(t.text for t in turns)
        kept_text, previous = [], ""
        for seg in raw:
            inside = sum(max(0.0, min(seg.end, t.end) - max(seg.start, t.start)) for t in turns)
            is_hallucination = inside < 0.5 * max(seg.end - seg.start, 1e-3)
            reason = segment_removal_reason(
                segment={"start": seg.start, "end": seg.end, "text": seg.text, "avg_logprob": seg.avg_logprob,
                         "no_speech_prob": seg.no_speech_prob, "compression_ratio": seg.compression_ratio},
                regions=regions, turns=diar.turns if diar.backend != "none" else [], centroids=diar.centroids,
                samples=samples, previous_text=previous,
            )
            if not reason:
                previous = seg.text
                kept_text.append(seg.text)
            results.append({"case": case, "text": seg.text, "hallucination": is_hallucination, "removed": bool(reason), "reason": reason})
        results.append({"case": case, "wer_before": wer_compute(reference=reference, hypothesis=" ".join(s.text for s in raw)),
                        "wer_after": wer_compute(reference=reference, hypothesis=" ".join(kept_text))})
    segments = [r for r in results if "text" in r]
    tp = sum(r["hallucination"] and r["removed"] for r in segments)
    fp = sum(not r["hallucination"] and r["removed"] for r in segments)
    fn = sum(r["hallucination"] and not r["removed"] for r in segments)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
    wers = [r for r in results if "wer_before" in r]
    reasons: dict[str, int] = {}
    for r in segments:
        if r["removed"]:
            key = r["reason"].split(" (")[0]
            reasons[key] = reasons.get(key, 0) + 1
    return {"recording_hallucination_removal_f1": figure(
        value=round(f1, 3) if f1 is not None else None, baseline=None, baseline_is="no removal (every segment kept)",
        target=">= 0.8", unit="F1", n=len(segments), met=f1 is not None and f1 >= 0.8,
        precision=None if precision is None else round(precision, 3), recall=None if recall is None else round(recall, 3),
        hallucinated_segments=tp + fn, genuine_segments=len(segments) - tp - fn, true_positives=tp, false_positives=fp, false_negatives=fn,
        reasons=reasons, wer_before=round(float(np.mean([w["wer_before"] for w in wers])), 3),
        wer_after=round(float(np.mean([w["wer_after"] for w in wers])), 3),
        examples=[{k: r[k] for k in ("text", "hallucination", "removed", "reason")} for r in segments if r["hallucination"] or r["removed"]][:12],
        wall_s=round(time.perf_counter() - t0, 1),
    )}
