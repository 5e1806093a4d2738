"""The recording pipeline: decode → VAD → (diarization ∥ ASR) → cleaning → roles → analysis.

Each stage is a RecordingStage row. A task claims it with a conditional
UPDATE (pending, every stage it reads done; or running with a lapsed lease),
keeps the lease fresh while it works, stores its result and enqueues the
stages that were waiting only for it, after commit. Diarization and ASR read
only the VAD regions (STAGE_NEEDS), so both start when VAD ends and run at
the same time; cleaning starts when the second of them ends.
A worker killed mid-stage stops renewing the lease; the sweep
(recordings_resume_stalled) enqueues the stage again and the new run reads
what the old one stored (split stages save after every part), so the
recording resumes from the last finished stage or part.

Long recordings are split: diarization works in parts of
RECORDING_DIARIZE_PART_S (speakers linked across parts by voice), ASR in
windows saved one by one; a task that has used RECORDING_TASK_BUDGET_S
stores its progress and enqueues itself to continue, so no task nears its
time limit."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from feedback.engines.recording_cleanup import (
    MIN_TURN_OVERLAP,
    VOICE_CHECK_MIN_S,
    TimedWord,
    segment_split_by_speaker,
    speakers_link_parts,
    turn_coverage,
    voice_mismatch_reason,
    word_speaker,
)
from feedback.models import (
    Recording,
    RecordingEvent,
    RecordingSegment,
    RecordingSpeaker,
    RecordingStage,
)
from feedback.models.recordings import SPEECH_STAGES, STAGE_NEEDS, STAGES
from trainer_app.engines.speech.errors import NoSpeechDetected, SpeechError
from trainer_app.engines.speech.pipeline import MAX_WINDOW_S, regions_group
from trainer_app.leases import lease_renewed

logger = logging.getLogger(__name__)
SAMPLE_RATE = 16_000
# Share of the whole pipeline each stage takes (for the progress bar and the time left).
STAGE_WEIGHTS = {"decode": 2, "vad": 4, "diarize": 20, "asr": 60, "clean": 6, "roles": 1, "analysis": 7}
VOICE_CHECK_LOGPROB = -0.6
VOICE_CHECK_NO_SPEECH = 0.2
VOICE_CHECK_COVERAGE = 0.9
NO_SPEECH = "No speech was found in this recording: it holds only silence or noise."


def recording_dir(*, recording_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "recordings" / str(recording_id)


def recording_decoded_path(*, recording_id: int) -> Path:
    return recording_dir(recording_id=recording_id) / "decoded.npy"


def _setting(name: str, default):
    return getattr(settings, name, default)


# --- the order of the stages ----------------------------------------------------------------


def stage_dependents(*, stage: str) -> list[str]:
    """Every stage that reads `stage`'s result, directly or through another, in pipeline order."""
    found = {stage}
    for name in STAGES:  # a stage comes after every stage it needs
        if any(need in found for need in STAGE_NEEDS[name]):
            found.add(name)
    return [name for name in STAGES if name in found and name != stage]


def stage_ancestors(*, stage: str) -> set[str]:
    """Every stage whose result `stage` reads, directly or through another."""
    found: set[str] = set()
    todo = list(STAGE_NEEDS[stage])
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(STAGE_NEEDS[name])
    return found


def _statuses(*, recording_id: int) -> dict[str, str]:
    return dict(RecordingStage.objects.filter(recording_id=recording_id).values_list("name", "status"))


def recording_stages_ready(*, recording_id: int, among: list[str] | None = None) -> list[str]:
    """Pending stages (of `among`, default all) whose needed stages are all done: those that may start now."""
    statuses = _statuses(recording_id=recording_id)
    done = RecordingStage.Status.DONE
    return [
        name for name in (among if among is not None else STAGES)
        if statuses.get(name) == RecordingStage.Status.PENDING and all(statuses.get(n) == done for n in STAGE_NEEDS[name])
    ]


# --- queueing -------------------------------------------------------------------------------


def recording_stage_enqueue(*, recording_id: int, stage: str) -> None:
    """Enqueue the stage's task after the current transaction commits."""
    from feedback import tasks

    task = tasks.recording_speech_stage if stage in SPEECH_STAGES else tasks.recording_analysis_stage
    queue = "speech" if stage in SPEECH_STAGES else "analysis"
    # The sweep looks again if nothing claimed the stage within a lease.
    RecordingStage.objects.filter(recording_id=recording_id, name=stage, status=RecordingStage.Status.PENDING).update(
        lease_until=timezone.now() + timedelta(seconds=2 * float(_setting("RECORDING_STAGE_LEASE_S", 60.0)))
    )
    transaction.on_commit(lambda: task.apply_async(args=[recording_id, stage], queue=queue))


def recordings_resume_stalled() -> int:
    """Enqueue every stage that a killed worker abandoned (lease lapsed) or whose message was lost."""
    now = timezone.now()
    stalled = list(
        RecordingStage.objects.filter(recording__status=Recording.Status.PROCESSING, lease_until__lt=now)
        .filter(status__in=[RecordingStage.Status.RUNNING, RecordingStage.Status.PENDING])
        .values_list("recording_id", "name")
    )
    enqueued = 0
    for recording_id, name in stalled:
        if not _needs_done(recording_id=recording_id, stage=name):
            continue
        logger.info("recording %s: resuming stage %s", recording_id, name)
        with transaction.atomic():
            recording_stage_enqueue(recording_id=recording_id, stage=name)
        enqueued += 1
    return enqueued


# --- claiming and running a stage ----------------------------------------------------------


def _needs_done(*, recording_id: int, stage: str) -> bool:
    if not STAGE_NEEDS[stage]:
        return True
    statuses = _statuses(recording_id=recording_id)
    return all(statuses.get(name) == RecordingStage.Status.DONE for name in STAGE_NEEDS[stage])


def _claim(*, recording_id: int, stage: str) -> RecordingStage | None:
    now = timezone.now()
    lease = timedelta(seconds=float(_setting("RECORDING_STAGE_LEASE_S", 60.0)))
    if not _needs_done(recording_id=recording_id, stage=stage):
        return None
    claimed = (
        RecordingStage.objects.filter(recording_id=recording_id, name=stage, recording__status=Recording.Status.PROCESSING)
        .filter(Q(status=RecordingStage.Status.PENDING) | Q(status=RecordingStage.Status.RUNNING, lease_until__lt=now))
        .update(status=RecordingStage.Status.RUNNING, lease_until=now + lease, attempts=F("attempts") + 1, error="")
    )
    if not claimed:
        return None
    row = RecordingStage.objects.select_related("recording").get(recording_id=recording_id, name=stage)
    if row.started_at is None:
        row.started_at = now
        row.save(update_fields=["started_at"])
    return row


def _lease_kept(*, stage_id: int):
    """Renew the stage's lease while the work runs (a killed worker stops renewing it)."""
    lease = float(_setting("RECORDING_STAGE_LEASE_S", 60.0))

    def renew() -> None:
        RecordingStage.objects.filter(pk=stage_id, status=RecordingStage.Status.RUNNING).update(
            lease_until=timezone.now() + timedelta(seconds=lease)
        )

    return lease_renewed(renew=renew, lease_s=lease, name=f"recording-stage-{stage_id}")


def recording_stage_run(*, recording_id: int, stage: str) -> str:
    """Run one stage (or the next part of a split stage). Returns what happened, for the log and tests.

    numpy's BLAS thread policy (trainer_app.engines.blas) is set once per process: by the workers at
    start-up (trainer_app.celery), by ``recording_pipeline_run_here`` for a run in this process."""
    row = _claim(recording_id=recording_id, stage=stage)
    if row is None:
        return "not claimed"
    recording = row.recording
    if recording.pipeline_started_at is None:
        Recording.objects.filter(pk=recording.pk).update(pipeline_started_at=timezone.now())
    began = time.monotonic()
    try:
        with _lease_kept(stage_id=row.pk):
            finished = STAGE_RUNNERS[stage](recording=recording, row=row)
    except SpeechError as exc:
        _fail(row=row, message=str(exc))
        return "failed"
    except Exception as exc:
        logger.exception("recording %s: stage %s failed", recording_id, stage)
        _fail(row=row, message=f"The {stage} stage failed unexpectedly ({type(exc).__name__}: {exc}). Retry it; the worker log has the details.")
        return "failed"
    seconds = time.monotonic() - began
    with transaction.atomic():
        # Diarization and ASR can finish at the same moment: the recording's row lock makes the
        # second to commit see the first as done, so the stage that needs both is enqueued (once).
        # (SQLite: the app's IMMEDIATE transactions serialise writers the same way.)
        list(Recording.objects.select_for_update().filter(pk=recording_id).values_list("pk", flat=True))
        if finished:
            RecordingStage.objects.filter(pk=row.pk).update(
                status=RecordingStage.Status.DONE, progress=1.0, result=row.result, finished_at=timezone.now(),
                lease_until=None, seconds=F("seconds") + seconds,
            )
            if not RecordingStage.objects.filter(recording_id=recording_id).exclude(status=RecordingStage.Status.DONE).exists():
                Recording.objects.filter(pk=recording_id).update(status=Recording.Status.DONE, pipeline_finished_at=timezone.now(), error="")
                RecordingEvent.objects.create(recording_id=recording_id, kind="analysed", message="Analysis finished.")
            else:
                waiting = [name for name in STAGES if stage in STAGE_NEEDS[name]]
                for name in recording_stages_ready(recording_id=recording_id, among=waiting):
                    recording_stage_enqueue(recording_id=recording_id, stage=name)
        else:  # a split stage stored its progress: continue in a fresh task
            RecordingStage.objects.filter(pk=row.pk).update(
                status=RecordingStage.Status.PENDING, result=row.result, progress=row.progress, seconds=F("seconds") + seconds
            )
            recording_stage_enqueue(recording_id=recording_id, stage=stage)
    transaction.on_commit(lambda: recording_progress_push(recording_id=recording_id))
    return "done" if finished else "continued"


def recording_pipeline_run_here(*, recording_id: int, threads: int = 2, on_stage=None) -> str:
    """Run the recording's stages in this process until none can start (the analyze_recording command,
    the bench): the same recording_stage_run the workers call, stages that may run side by side in
    `threads` threads, as the speech worker's threads run them; a split stage's continuations too.
    `on_stage(name, outcome, seconds)` is called in this thread as each run ends. Returns the
    recording's status."""
    from django.db import connections

    from trainer_app.engines.blas import blas_threads_limit

    blas_threads_limit()  # as a worker does at start-up: BLAS threads spinning beside Whisper's made both slower

    def run(stage: str) -> tuple[str, str, float]:
        began = time.monotonic()
        try:
            return stage, recording_stage_run(recording_id=recording_id, stage=stage), time.monotonic() - began
        finally:
            connections.close_all()  # this pool thread's own connections

    in_flight: dict = {}
    refused: set[str] = set()  # claimed elsewhere or blocked: not tried again in this run
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix=f"recording-{recording_id}") as pool:
        while True:
            processing = Recording.objects.filter(pk=recording_id, status=Recording.Status.PROCESSING).exists()
            for name in recording_stages_ready(recording_id=recording_id) if processing else []:
                if name not in refused and name not in in_flight.values():
                    in_flight[pool.submit(run, name)] = name
            if not in_flight:
                break
            finished, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            for future in finished:
                del in_flight[future]
                name, outcome, seconds = future.result()
                if outcome == "not claimed":
                    refused.add(name)
                if on_stage is not None:
                    on_stage(name, outcome, seconds)
    return Recording.objects.filter(pk=recording_id).values_list("status", flat=True).first() or ""


def _fail(*, row: RecordingStage, message: str) -> None:
    with transaction.atomic():
        RecordingStage.objects.filter(pk=row.pk).update(status=RecordingStage.Status.FAILED, error=message, lease_until=None, result=row.result)
        Recording.objects.filter(pk=row.recording_id).update(status=Recording.Status.FAILED, error=message)
        RecordingEvent.objects.create(recording_id=row.recording_id, kind="stage-failed", message=f"{row.name}: {message}")
    recording_progress_push(recording_id=row.recording_id)


def _save_progress(*, row: RecordingStage, progress: float) -> None:
    row.progress = progress
    RecordingStage.objects.filter(pk=row.pk).update(result=row.result, progress=progress)
    recording_progress_push(recording_id=row.recording_id)


def _budget_left(*, began: float) -> bool:
    return time.monotonic() - began < float(_setting("RECORDING_TASK_BUDGET_S", 240.0))


def _stage_result(*, recording_id: int, name: str) -> dict:
    return RecordingStage.objects.filter(recording_id=recording_id, name=name).values_list("result", flat=True).first() or {}


def _samples(*, recording_id: int) -> np.ndarray:
    path = recording_decoded_path(recording_id=recording_id)
    if not path.exists():
        raise SpeechError("The decoded audio is missing (was the recording's audio deleted?). Retry from the decode stage.")
    return np.load(path, mmap_mode="r")


# --- the stages ---------------------------------------------------------------------------


def stage_decode(*, recording: Recording, row: RecordingStage) -> bool:
    from trainer_app.engines.speech.audio import audio_decode

    if not recording.audio_path:
        raise SpeechError("This recording's audio has been deleted (retention period); it cannot be analysed again.")
    audio = audio_decode(
        source=Path(settings.MEDIA_ROOT) / recording.audio_path, filename="upload",  # the content decides the type
        max_bytes=int(settings.RECORDING_MAX_BYTES), max_seconds=float(settings.RECORDING_MAX_SECONDS),
    )
    target = recording_decoded_path(recording_id=recording.pk)
    tmp = target.with_suffix(".tmp.npy")
    np.save(tmp, audio.samples)
    os.replace(tmp, target)  # atomic: a killed worker never leaves half a file under the real name
    row.result = {"duration_s": round(audio.duration_s, 3), "container": audio.container, "codec": audio.codec,
                  "truncated": audio.truncated}
    Recording.objects.filter(pk=recording.pk).update(duration_s=audio.duration_s, container=audio.container, codec=audio.codec)
    return True


def stage_vad(*, recording: Recording, row: RecordingStage) -> bool:
    from trainer_app.engines.speech.vad import vad_speech_regions

    samples = np.asarray(_samples(recording_id=recording.pk))
    regions = vad_speech_regions(samples=samples, sample_rate=SAMPLE_RATE)
    if not regions:
        raise NoSpeechDetected(NO_SPEECH)
    row.result = {"regions": [[round(s, 3), round(e, 3)] for s, e in regions], "speech_s": round(sum(e - s for s, e in regions), 3)}
    return True


def diarize_parts(*, regions: list[tuple[float, float]], duration_s: float, part_s: float) -> list[tuple[float, float]]:
    """Split the recording into parts of about `part_s`, cutting in the silence between speech regions."""
    parts, start = [], 0.0
    for i, (_, end) in enumerate(regions):
        nxt = regions[i + 1][0] if i + 1 < len(regions) else None
        if nxt is not None and end - start >= part_s:
            cut = (end + nxt) / 2
            parts.append((start, cut))
            start = cut
    parts.append((start, duration_s))
    return parts


def stage_diarize(*, recording: Recording, row: RecordingStage) -> bool:
    from feedback.services.recording_engines import diarize_samples

    began = time.monotonic()
    regions = [tuple(r) for r in _stage_result(recording_id=recording.pk, name="vad")["regions"]]
    samples = _samples(recording_id=recording.pk)
    duration = len(samples) / SAMPLE_RATE
    bounds = diarize_parts(regions=regions, duration_s=duration, part_s=float(settings.RECORDING_DIARIZE_PART_S))
    done = list(row.result.get("parts") or [])
    first = True  # every run does at least one part, however small the budget
    while len(done) < len(bounds) and (first or _budget_left(began=began)):
        first = False
        p0, p1 = bounds[len(done)]
        part_regions = [(max(s, p0) - p0, min(e, p1) - p0) for s, e in regions if e > p0 and s < p1]
        chunk = np.asarray(samples[int(p0 * SAMPLE_RATE) : int(p1 * SAMPLE_RATE)])
        result = diarize_samples(samples=chunk, speech_regions=part_regions, num_speakers=recording.num_speakers)
        done.append({
            "turns": [[round(s + p0, 3), round(e + p0, 3), sp] for s, e, sp in result.turns],
            "centroids": {k: [float(x) for x in v] for k, v in result.centroids.items()},
            "backend": result.backend, "notes": result.notes,
        })
        row.result = {"parts": done}
        _save_progress(row=row, progress=len(done) / len(bounds))
    if len(done) < len(bounds):
        return False
    turns, centroids = speakers_link_parts(
        parts=[([tuple(t) for t in p["turns"]], {k: np.asarray(v, dtype=np.float32) for k, v in p["centroids"].items()}) for p in done]
    )
    row.result = {
        "parts": done,
        "turns": [[s, e, sp] for s, e, sp in turns],
        "centroids": {k: [float(x) for x in v] for k, v in centroids.items()},
        "backend": done[0]["backend"] if done else "",
        "notes": sorted({n for p in done for n in p["notes"]}),
        "speakers": sorted({sp for _, _, sp in turns}),
    }
    return True


def asr_windows(*, regions: list[tuple[float, float]], max_span_s: float = MAX_WINDOW_S) -> list[tuple[float, float]]:
    """Consecutive speech regions merged into windows no longer than Whisper's 30 s (the engine's own grouping)."""
    return regions_group(regions=regions, max_span_s=max_span_s)


def stage_asr(*, recording: Recording, row: RecordingStage) -> bool:
    from feedback.services.recording_engines import asr_transcribe_window

    began = time.monotonic()
    regions = [tuple(r) for r in _stage_result(recording_id=recording.pk, name="vad")["regions"]]
    windows = asr_windows(regions=regions)
    samples = _samples(recording_id=recording.pk)
    result = dict(row.result or {})
    segments = list(result.get("segments") or [])
    next_window = int(result.get("next_window", 0))
    if next_window and "resumed_at" not in result:
        result["resumed_at"] = next_window
    part_s = float(settings.RECORDING_ASR_PART_S)
    processed_s = 0.0
    first = True  # every run transcribes at least one window, however small the budget
    while next_window < len(windows) and (first or (_budget_left(began=began) and processed_s < part_s)):
        first = False
        w0, w1 = windows[next_window]
        chunk = np.asarray(samples[int(w0 * SAMPLE_RATE) : int(np.ceil(w1 * SAMPLE_RATE))])
        raw, backend = asr_transcribe_window(samples=chunk, offset_s=w0)
        segments.extend(
            {"start": round(s.start, 3), "end": round(s.end, 3), "text": s.text,
             "words": [[round(w.start, 3), round(w.end, 3), w.text, w.probability] for w in s.words],
             "avg_logprob": s.avg_logprob, "no_speech_prob": s.no_speech_prob, "compression_ratio": s.compression_ratio}
            for s in raw
        )
        next_window += 1
        processed_s += w1 - w0
        result.update(segments=segments, next_window=next_window, windows=len(windows), backend=backend)
        row.result = result
        _save_progress(row=row, progress=next_window / max(len(windows), 1))
    return next_window >= len(windows)


def _voice_check_needed(*, segment: dict, turns: list[tuple[float, float, str]]) -> bool:
    """The voice check costs an embedding per segment: spend it on the doubtful ones (the recognizer
    unsure, or the segment not well inside diarized speech); a confident segment well inside a
    diarized turn was already clustered with a speaker's voice."""
    logprob, no_speech = segment.get("avg_logprob"), segment.get("no_speech_prob")
    if logprob is None or no_speech is None:
        return True
    if logprob < VOICE_CHECK_LOGPROB or no_speech > VOICE_CHECK_NO_SPEECH:
        return True
    return not turns or turn_coverage(start=segment["start"], end=segment["end"], turns=turns) < VOICE_CHECK_COVERAGE


def segment_removal_reason(
    *, segment: dict, regions: list[tuple[float, float]], turns: list[tuple[float, float, str]], centroids: dict[str, np.ndarray],
    samples: np.ndarray, previous_text: str = "",
) -> str:
    """Why a recognized segment is a hallucination ("" to keep it): the recognizer-level signals
    (outside VAD speech, whisper's own no-speech / log-probability / compression ratio, loops,
    boilerplate), then the diarization: outside every speaker turn, or a voice like no speaker's."""
    from feedback.services.recording_engines import voice_embed
    from trainer_app.engines.speech.asr_types import AsrSegment
    from trainer_app.engines.speech.hallucinations import segment_hallucination_reason

    asr_segment = AsrSegment(start=segment["start"], end=segment["end"], text=segment["text"], avg_logprob=segment.get("avg_logprob"),
                             no_speech_prob=segment.get("no_speech_prob"), compression_ratio=segment.get("compression_ratio"))
    reason = segment_hallucination_reason(segment=asr_segment, speech_regions=regions, previous_text=previous_text)
    if not reason and turns and turn_coverage(start=segment["start"], end=segment["end"], turns=turns) < MIN_TURN_OVERLAP:
        reason = "outside every diarized speaker turn"
    if not reason and centroids and segment["end"] - segment["start"] >= VOICE_CHECK_MIN_S and _voice_check_needed(segment=segment, turns=turns):
        chunk = np.asarray(samples[int(segment["start"] * SAMPLE_RATE) : int(segment["end"] * SAMPLE_RATE)])
        reason = voice_mismatch_reason(vector=voice_embed(samples=chunk), centroids=centroids)
    return reason


def stage_clean(*, recording: Recording, row: RecordingStage) -> bool:
    """Hallucination removal, then the kept text given to diarized speakers (split where the speaker changes)."""
    from trainer_app.engines.speech.hallucinations import tokens_collapse_loops

    regions = [tuple(r) for r in _stage_result(recording_id=recording.pk, name="vad")["regions"]]
    diar = _stage_result(recording_id=recording.pk, name="diarize")
    turns = [tuple(t) for t in diar.get("turns") or []]
    centroids = {k: np.asarray(v, dtype=np.float32) for k, v in (diar.get("centroids") or {}).items()}
    check_turns = bool(turns) and diar.get("backend") != "none"
    raw = _stage_result(recording_id=recording.pk, name="asr").get("segments") or []
    samples = _samples(recording_id=recording.pk)

    rows: list[dict] = []
    reasons: dict[str, int] = {}
    previous_text = ""
    for seg in raw:
        words = [TimedWord(*w) for w in seg["words"]]
        reason = segment_removal_reason(segment=seg, regions=regions, turns=turns if check_turns else [], centroids=centroids,
                                        samples=samples, previous_text=previous_text)
        if reason:
            reasons[reason.split(" (")[0]] = reasons.get(reason.split(" (")[0], 0) + 1
            speaker = word_speaker(start=seg["start"], end=seg["end"], turns=turns) if turns else None
            rows.append({"start": seg["start"], "end": seg["end"], "speaker": speaker, "text": seg["text"], "words": seg["words"],
                         "signals": seg, "removed": True, "reason": reason})
            continue
        previous_text = seg["text"]
        pieces = segment_split_by_speaker(words=words, turns=turns) if turns else []
        if not pieces:
            pieces_rows = [{"start": seg["start"], "end": seg["end"], "speaker": None, "words": seg["words"], "text": seg["text"]}]
        else:
            pieces_rows = [{"start": p.start, "end": p.end, "speaker": p.speaker, "text": p.text,
                            "words": [list(w) for w in p.words]} for p in pieces]
        for piece in pieces_rows:
            # a decoding loop inside kept speech is collapsed in the words and the text alike
            words_kept = [piece["words"][k] for k in tokens_collapse_loops(tokens=[w[2] for w in piece["words"]])]
            text = " ".join(w[2] for w in words_kept) if len(words_kept) < len(piece["words"]) else piece["text"]
            rows.append({**piece, "words": words_kept, "text": text, "signals": seg, "removed": False, "reason": ""})

    with transaction.atomic():
        recording.segments.all().delete()  # cascades to the analysis items: this stage is re-runnable
        labels = []
        for label in [t[2] for t in turns] + [r["speaker"] for r in rows if r["speaker"]]:
            if label not in labels:
                labels.append(label)
        existing = {s.label: s for s in recording.speakers.all()}
        speakers = {}
        for position, label in enumerate(labels):
            speaker = existing.get(label)
            if speaker is None:
                speaker = RecordingSpeaker.objects.create(recording=recording, label=label, name=f"Speaker {position + 1}", position=position)
            speakers[label] = speaker.merged_into if speaker.merged_into_id else speaker
        RecordingSegment.objects.bulk_create([
            RecordingSegment(
                recording=recording, position=i, start=r["start"], end=r["end"], speaker=speakers.get(r["speaker"]),
                text=r["text"], words=r["words"], avg_logprob=r["signals"]["avg_logprob"],
                no_speech_prob=r["signals"]["no_speech_prob"], compression_ratio=r["signals"]["compression_ratio"],
                removed=r["removed"], removal_reason=r["reason"],
            )
            for i, r in enumerate(rows)
        ])
    row.result = {"segments": len(rows), "removed": sum(r["removed"] for r in rows), "reasons": reasons}
    return True


def stage_roles(*, recording: Recording, row: RecordingStage) -> bool:
    from feedback.services.recording_engines import enrolled_voices, speakers_to_people

    diar = _stage_result(recording_id=recording.pk, name="diarize")
    centroids = {k: np.asarray(v, dtype=np.float32) for k, v in (diar.get("centroids") or {}).items()}
    participants = {p.user_id: p for p in recording.participants.select_related("user")}
    enrolled = {str(uid): vec for uid, vec in enrolled_voices(user_ids=list(participants)).items()}
    matches = speakers_to_people(centroids=centroids, enrolled=enrolled)
    speakers = list(  # a "speaker" who only said removed things is not numbered
        recording.speakers.filter(merged_into__isnull=True, segments__removed=False).distinct().order_by("position", "id")
    )
    unknown_number = 0
    report = {}
    with transaction.atomic():
        for speaker in speakers:
            match = matches.get(speaker.label)
            if speaker.named_by_instructor:
                report[speaker.label] = {"name": speaker.name, "by": "instructor"}
                continue
            if match is not None and match.key is not None and int(match.key) in participants:
                person = participants[int(match.key)]
                speaker.user = person.user
                speaker.role = person.role
                speaker.name = f"{person.role.capitalize()} ({person.user.get_full_name() or person.user.get_username()})"
                speaker.similarity, speaker.confidence = match.similarity, match.confidence
            else:
                unknown_number += 1
                speaker.user, speaker.role = None, ""
                speaker.name = f"Speaker {unknown_number}"
                speaker.similarity = match.similarity if match else None
                speaker.confidence = match.confidence if match else ""
            speaker.save(update_fields=["user", "role", "name", "similarity", "confidence"])
            report[speaker.label] = {"name": speaker.name, "similarity": speaker.similarity, "confidence": speaker.confidence}
    row.result = {"speakers": report, "enrolled": len(enrolled), "participants": len(participants)}
    return True


def stage_analysis(*, recording: Recording, row: RecordingStage) -> bool:
    from feedback.services.recording_analysis import recording_analyse

    row.result = recording_analyse(recording=recording)
    return True


STAGE_RUNNERS = {
    "decode": stage_decode, "vad": stage_vad, "diarize": stage_diarize, "asr": stage_asr,
    "clean": stage_clean, "roles": stage_roles, "analysis": stage_analysis,
}


# --- re-running what depends on a change ------------------------------------------------------


def _stages_rerun(*, recording: Recording, stages: list[str], actor=None, reason: str = "") -> None:
    """Mark `stages` and every stage that reads them pending, and enqueue those that may start."""
    rerun = set(stages)
    for stage in stages:
        rerun.update(stage_dependents(stage=stage))
    upstream = set().union(*(stage_ancestors(stage=stage) for stage in rerun)) - rerun
    names = [name for name in STAGES if name in rerun]
    with transaction.atomic():
        list(Recording.objects.select_for_update().filter(pk=recording.pk).values_list("pk", flat=True))
        upstream_failed = RecordingStage.objects.filter(
            recording=recording, name__in=upstream, status=RecordingStage.Status.FAILED
        ).exists()
        RecordingStage.objects.filter(recording=recording, name__in=names).update(
            status=RecordingStage.Status.PENDING, progress=0.0, error="", lease_until=None, finished_at=None
        )
        if upstream_failed:  # the retry of that stage will reach these; nothing to start now
            if reason:
                RecordingEvent.objects.create(recording=recording, kind="rerun", message=f"{reason}.", actor=actor)
            return
        # Parts a split stage finished are kept in its result, so a retry resumes after them.
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.PROCESSING, error="", pipeline_finished_at=None)
        if reason:
            RecordingEvent.objects.create(recording=recording, kind="rerun", message=f"{reason}: re-running from {names[0]}.", actor=actor)
        # Every stage that may start now: the re-run ones, and one left pending when the recording
        # failed beside it (ASR stopped between two parts while diarization failed).
        for name in recording_stages_ready(recording_id=recording.pk):
            recording_stage_enqueue(recording_id=recording.pk, stage=name)
    transaction.on_commit(lambda: recording_progress_push(recording_id=recording.pk))


def recording_stages_rerun_from(*, recording: Recording, stage: str, actor=None, reason: str = "") -> None:
    """Mark `stage` and every stage that reads it pending and start them (a retry, or a correction's dependents)."""
    _stages_rerun(recording=recording, stages=[stage], actor=actor, reason=reason)


def recording_stage_retry(*, recording: Recording, actor=None) -> str:
    """Retry every failed stage (diarization and ASR run side by side, so both may have failed) from
    the page or the command. Returns the first one's name."""
    failed = list(recording.stages.filter(status=RecordingStage.Status.FAILED).order_by("position").values_list("name", flat=True))
    if not failed:
        raise ValueError("No stage of this recording has failed.")
    label = " and ".join(failed)
    _stages_rerun(recording=recording, stages=failed, actor=actor, reason=f"Retry of the failed {label} stage{'s' if len(failed) > 1 else ''}")
    return failed[0]


# --- progress over the channel layer ----------------------------------------------------------


def recording_group_name(recording_id: int) -> str:
    return f"recording-{recording_id}"


def recording_progress_push(*, recording_id: int) -> None:
    """Render the progress partial and send it to everyone watching the recording."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.template.loader import render_to_string

    from feedback.selectors.recordings import recording_progress

    try:
        progress = recording_progress(recording_id=recording_id)
        if progress is None:
            return
        html = render_to_string("feedback/recordings/_progress.html", {"progress": progress, "oob": True})
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(
                recording_group_name(recording_id),
                {"type": "recording.progress", "html": html, "status": progress.status, "percent": progress.percent},
            )
    except Exception:  # progress is a courtesy; the stage's own result is already stored
        logger.exception("recording %s: progress push failed", recording_id)
