"""The recording pipeline on real Celery workers: a worker killed (SIGKILL) mid-stage leaves the
recording resumable; the next worker resumes the stage where its last stored part ended,
without redoing the stages before it; progress reaches the channel layer group."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest
from channels.layers import get_channel_layer
from django.db import transaction

from feedback.models import Recording, RecordingStage
from feedback.services.recording_pipeline import recording_group_name
from feedback.services.recordings import recording_create, temp_upload_path
from tests.factories import CohortFactory, UserFactory
from tests.support import processes
from tests.support.recordings import conversation_build
from tests.support.speech import speech_tools_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed"),
]

WORKER_ENV = {"RECORDING_STAGE_LEASE_S": "3", "RECORDING_SWEEP_SECONDS": "1", "WORKER_HEARTBEAT_SECONDS": "1"}


def _wait(predicate, *, timeout: float, what: str, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"worker exited while waiting for {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_worker_mid_asr_resumes_from_the_last_stored_window(transactional_db, settings, tmp_path, process_logs):
    settings.MEDIA_ROOT = tmp_path / "media"
    instructor = UserFactory(role="instructor")
    cohort = CohortFactory(owner=instructor)
    source, _, _ = conversation_build(path=tmp_path / "conv.wav", repeat=2, gap_s=1.0, nonspeech=((1, "noise", 3.0),))
    upload = temp_upload_path()
    upload.write_bytes(source.read_bytes())

    # One event loop (in its own thread) owns the channel for the whole test.
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    def on_loop(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)

    layer = get_channel_layer()
    channel = on_loop(layer.new_channel())

    worker = processes.start_worker(log_path=process_logs / "recording-worker-1.log", queues="speech,analysis",
                                    MEDIA_ROOT=str(settings.MEDIA_ROOT), **WORKER_ENV)
    try:
        processes.wait_for_worker(worker)
        with transaction.atomic():
            recording = recording_create(source=upload, original_name="conv.wav", uploaded_by=instructor, title="conv",
                                         cohort=cohort, consent_statement="ok")
        on_loop(layer.group_add(recording_group_name(recording.pk), channel))

        def asr_part_stored():
            row = RecordingStage.objects.get(recording=recording, name="asr")
            return row.status == "running" and int(row.result.get("next_window", 0)) >= 1 and row.result.get("windows", 0) > row.result["next_window"]

        _wait(asr_part_stored, timeout=400, what="the ASR stage to store its first window", proc=worker)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        processes.stop(worker)
    killed_at = RecordingStage.objects.get(recording=recording, name="asr")
    assert killed_at.status == "running"  # abandoned: nobody renews the lease any more

    worker = processes.start_worker(log_path=process_logs / "recording-worker-2.log", queues="speech,analysis",
                                    MEDIA_ROOT=str(settings.MEDIA_ROOT), **WORKER_ENV)
    try:
        processes.wait_for_worker(worker)
        _wait(lambda: Recording.objects.get(pk=recording.pk).status in ("done", "failed"), timeout=600,
              what="the pipeline to finish on the second worker", proc=worker)
    finally:
        processes.stop(worker)
    recording.refresh_from_db()
    stages = {s.name: s for s in recording.stages.all()}
    assert recording.status == "done", [(s.name, s.status, s.error) for s in stages.values()]
    assert stages["asr"].attempts >= 2
    assert stages["asr"].result["resumed_at"] >= 1  # the second run started after the stored windows
    assert stages["decode"].attempts == 1 and stages["vad"].attempts == 1  # finished stages were not redone
    text = " ".join(recording.segments.filter(removed=False).values_list("text", flat=True)).lower()
    assert "sutures" in text and "knots" in text
    assert text.count("incision") == 2  # both repetitions once each: no window transcribed twice

    received = on_loop(_drain(layer, channel))
    loop.call_soon_threadsafe(loop.stop)
    assert received, "no progress reached the channel layer group"
    assert any(m["type"] == "recording.progress" and 'data-testid="recording-progress"' in m["html"] for m in received)


async def _drain(layer, channel) -> list[dict]:
    received = []
    while True:
        try:
            received.append(await asyncio.wait_for(layer.receive(channel), timeout=1.0))
        except TimeoutError:
            return received
