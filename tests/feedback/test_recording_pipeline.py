"""The order of the recording stages: diarization and ASR both start when VAD ends and run side by
side, cleaning waits for both; retries, the stall sweep and the in-process runner follow the same
needs. The stage engines are replaced by stand-ins: these tests are about claiming and enqueueing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from feedback import tasks
from feedback.models import Recording, RecordingStage
from feedback.services import recording_pipeline as pipeline
from tests.factories import CohortFactory, UserFactory
from tests.feedback.recording_support import recording_make

pytestmark = [pytest.mark.timeout(60)]


@pytest.fixture
def sent(monkeypatch):
    """Every stage enqueued, as (recording id, stage)."""
    messages: list[tuple[int, str]] = []
    for task in (tasks.recording_speech_stage, tasks.recording_analysis_stage):
        monkeypatch.setattr(task, "apply_async", lambda args, queue: messages.append(tuple(args)))
    return messages


def _processing(*, done: tuple[str, ...] = ("decode", "vad"), **statuses: str) -> Recording:
    instructor = UserFactory(role="instructor")
    recording = recording_make(cohort=CohortFactory(owner=instructor), uploader=instructor)
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.PROCESSING)
    RecordingStage.objects.filter(recording=recording).exclude(name__in=done).update(status=RecordingStage.Status.PENDING, progress=0.0)
    for name, status in statuses.items():
        RecordingStage.objects.filter(recording=recording, name=name).update(status=status)
    return recording


def _stand_ins(monkeypatch, **runners) -> None:
    for name in pipeline.STAGE_RUNNERS:
        monkeypatch.setitem(pipeline.STAGE_RUNNERS, name, runners.get(name, lambda *, recording, row: True))


def _status(recording: Recording) -> dict[str, str]:
    return dict(RecordingStage.objects.filter(recording=recording).values_list("name", "status"))


def test_stage_order_helpers():
    assert pipeline.stage_dependents(stage="vad") == ["diarize", "asr", "clean", "roles", "analysis"]
    assert pipeline.stage_dependents(stage="diarize") == ["clean", "roles", "analysis"]
    assert pipeline.stage_dependents(stage="analysis") == []
    assert pipeline.stage_ancestors(stage="clean") == {"decode", "vad", "diarize", "asr"}
    assert pipeline.stage_ancestors(stage="asr") == {"decode", "vad"}


@pytest.mark.django_db
def test_vad_starts_diarization_and_asr_and_cleaning_waits_for_both(media, monkeypatch, sent, django_capture_on_commit_callbacks):
    _stand_ins(monkeypatch)
    recording = _processing(done=("decode",))
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.recording_stage_run(recording_id=recording.pk, stage="vad") == "done"
    assert sent == [(recording.pk, "diarize"), (recording.pk, "asr")]
    sent.clear()
    assert pipeline.recording_stage_run(recording_id=recording.pk, stage="clean") == "not claimed"
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.recording_stage_run(recording_id=recording.pk, stage="asr") == "done"  # before diarization: allowed
    assert sent == []  # cleaning still waits for diarization
    assert pipeline.recording_stage_run(recording_id=recording.pk, stage="clean") == "not claimed"
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.recording_stage_run(recording_id=recording.pk, stage="diarize") == "done"
    assert sent == [(recording.pk, "clean")]
    for stage in ("clean", "roles", "analysis"):
        assert pipeline.recording_stage_run(recording_id=recording.pk, stage=stage) == "done"
    recording.refresh_from_db()
    assert recording.status == Recording.Status.DONE and set(_status(recording).values()) == {"done"}


@pytest.mark.django_db(transaction=True)
def test_the_runner_runs_diarization_and_asr_at_the_same_time(media, monkeypatch, sent):
    both = threading.Barrier(2, timeout=10)  # broken (the stage fails) unless both stages are in it together
    seen: list[str] = []

    def together(*, recording, row):
        both.wait()
        seen.append(row.name)
        return True

    _stand_ins(monkeypatch, diarize=together, asr=together)
    recording = _processing()
    outcomes = []
    status = pipeline.recording_pipeline_run_here(recording_id=recording.pk, threads=2,
                                                  on_stage=lambda name, outcome, seconds: outcomes.append((name, outcome)))
    assert status == Recording.Status.DONE, _status(recording)
    assert sorted(seen) == ["asr", "diarize"]
    assert [name for name, _ in outcomes][-3:] == ["clean", "roles", "analysis"]
    assert all(outcome == "done" for _, outcome in outcomes)


@pytest.mark.django_db(transaction=True)
def test_the_runner_continues_a_split_stage_until_it_is_done(media, monkeypatch, sent):
    def asr_in_three_parts(*, recording, row):
        row.result = {"parts": int(row.result.get("parts", 0)) + 1}
        return row.result["parts"] == 3

    _stand_ins(monkeypatch, asr=asr_in_three_parts)
    recording = _processing()
    assert pipeline.recording_pipeline_run_here(recording_id=recording.pk, threads=2) == Recording.Status.DONE
    asr = RecordingStage.objects.get(recording=recording, name="asr")
    assert asr.attempts == 3 and asr.result == {"parts": 3}


@pytest.mark.django_db(transaction=True)
def test_the_runner_stops_when_a_stage_fails(media, monkeypatch, sent):
    def diarize_fails(*, recording, row):
        raise pipeline.SpeechError("no voices")

    _stand_ins(monkeypatch, diarize=diarize_fails)
    recording = _processing()
    assert pipeline.recording_pipeline_run_here(recording_id=recording.pk, threads=2) == Recording.Status.FAILED
    stages = _status(recording)
    assert stages["diarize"] == "failed" and stages["clean"] == stages["roles"] == stages["analysis"] == "pending"


@pytest.mark.django_db
def test_retry_restarts_every_failed_stage(media, monkeypatch, sent, django_capture_on_commit_callbacks):
    recording = _processing(diarize="failed", asr="failed")
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.recording_stage_retry(recording=recording) == "diarize"
    assert sorted(sent) == [(recording.pk, "asr"), (recording.pk, "diarize")]
    stages = _status(recording)
    assert stages["diarize"] == stages["asr"] == stages["clean"] == "pending"
    assert Recording.objects.get(pk=recording.pk).status == Recording.Status.PROCESSING


@pytest.mark.django_db
def test_retrying_diarization_keeps_a_finished_asr_and_starts_a_pending_one(media, sent, django_capture_on_commit_callbacks):
    recording = _processing(done=("decode", "vad", "asr"), diarize="failed")
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.recording_stage_retry(recording=recording)
    assert sent == [(recording.pk, "diarize")] and _status(recording)["asr"] == "done"

    sent.clear()  # ASR stopped between two parts when diarization failed beside it: the retry starts it again
    other = _processing(diarize="failed", asr="pending")
    Recording.objects.filter(pk=other.pk).update(status=Recording.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.recording_stage_retry(recording=other)
    assert sorted(sent) == [(other.pk, "asr"), (other.pk, "diarize")]


@pytest.mark.django_db
def test_the_sweep_resumes_an_abandoned_asr_while_diarization_still_runs(media, sent, django_capture_on_commit_callbacks):
    recording = _processing(diarize="running", asr="running")
    now = timezone.now()
    RecordingStage.objects.filter(recording=recording, name="diarize").update(lease_until=now + timedelta(seconds=60))
    RecordingStage.objects.filter(recording=recording, name="asr").update(lease_until=now - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.recordings_resume_stalled() == 1
    assert sent == [(recording.pk, "asr")]
