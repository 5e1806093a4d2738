"""Recordings: upload checks by content (every error specific, nothing half-made left), the
command, corrections re-running only what depends on them, reviews becoming exemplars,
retention purge, audio served with ranges only to those who may see it."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from feedback.models import Exemplar, Recording, RecordingEvent, RecordingStage
from feedback.services import recordings as service
from feedback.services.recording_analysis import recording_item_review
from tests.factories import CohortFactory, FrameworkFactory, UserFactory
from tests.feedback.recording_support import recording_make, wav_write
from tests.support.speech import audio_encode, speech_silence, speech_tools_available

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]


@pytest.fixture
def people():
    instructor = UserFactory(role="instructor")
    trainee = UserFactory(role="trainee")
    cohort = CohortFactory(owner=instructor, members=[trainee])
    return {"instructor": instructor, "trainee": trainee, "cohort": cohort}


def _create(path: Path, people, **extra) -> Recording:
    return service.recording_create(source=path, original_name=path.name, uploaded_by=people["instructor"], title="t",
                                    cohort=people["cohort"], consent_statement="Everyone agreed.", enqueue=False, **extra)


def _nothing_left(media: Path) -> None:
    assert Recording.objects.count() == 0
    assert RecordingStage.objects.count() == 0
    stored = [p for p in (media / "recordings").rglob("*") if p.is_file()] if (media / "recordings").exists() else []
    assert stored == []


def _video_without_audio(path: Path) -> Path:
    import av
    import numpy as np

    with av.open(str(path), mode="w", format="mp4") as sink:
        stream = sink.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                sink.mux(packet)
        for packet in stream.encode(None):
            sink.mux(packet)
    return path


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: (d / "empty.wav").write_bytes(b"") and None or d / "empty.wav", "empty"),
        (lambda d: (d / "notes.txt").write_text("not audio at all " * 50) and None or d / "notes.txt", "Wrong type of file"),
        (lambda d: (d / "broken.wav").write_bytes(b"RIFF" + bytes(range(256)) * 8) and None or d / "broken.wav", "corrupt"),
        (lambda d: speech_silence(path=d / "silent.wav", seconds=2.0), "silent"),
        (lambda d: _video_without_audio(d / "video.mp4"), "no audio track"),
    ],
    ids=["empty", "wrong-type", "corrupt", "silent", "video-without-audio"],
)
def test_a_bad_file_is_refused_with_its_reason_and_nothing_is_left(media, people, tmp_path, make, expected):
    path = make(tmp_path)
    with pytest.raises(service.RecordingRejected, match=expected):
        _create(path, people)
    _nothing_left(media)


def test_too_long_and_too_large_are_refused_before_any_work(media, people, tmp_path, settings):
    settings.RECORDING_MAX_SECONDS = 1
    with pytest.raises(service.RecordingRejected, match="too long; the limit is"):
        _create(wav_write(path=tmp_path / "long.wav", seconds=3.0), people)
    settings.RECORDING_MAX_SECONDS = 3600
    settings.RECORDING_MAX_BYTES = 1000
    with pytest.raises(service.RecordingRejected, match="too large"):
        _create(wav_write(path=tmp_path / "big.wav", seconds=3.0), people)
    _nothing_left(media)


@pytest.mark.parametrize("container", ["webm", "ogg", "m4a", "mp3"])
def test_compressed_formats_are_accepted_by_content_whatever_their_name(media, people, tmp_path, container):
    src = wav_write(path=tmp_path / "tone.wav", seconds=2.0)
    encoded = audio_encode(src=src, dst=tmp_path / f"tone.{container}", container=container)
    misnamed = encoded.rename(tmp_path / "upload.bin")  # the type is decided by content, not by name
    recording = _create(misnamed, people)
    assert 1.8 < recording.duration_s < 2.3
    assert (Path(media) / recording.audio_path).is_file()
    assert list(recording.stages.values_list("name", "status")) == [(n, "pending") for n in
                                                                    ("decode", "vad", "diarize", "asr", "clean", "roles", "analysis")]
    kinds = list(recording.events.values_list("kind", flat=True))
    assert kinds == ["uploaded", "consent"]
    assert recording.consent_by == people["instructor"] and recording.consent_at is not None


def test_flac_and_mp4_audio_track_are_accepted(media, people, tmp_path):
    src = wav_write(path=tmp_path / "tone.wav", seconds=2.0)
    subprocess.run(["sox", str(src), str(tmp_path / "tone.flac")], check=True)
    assert _create(tmp_path / "tone.flac", people).codec == "flac"
    import av

    with av.open(str(src)) as source, av.open(str(tmp_path / "clip.mp4"), mode="w", format="mp4") as sink:
        stream = sink.add_stream("aac", rate=16000)
        for frame in source.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                sink.mux(packet)
        for packet in stream.encode(None):
            sink.mux(packet)
    assert _create(tmp_path / "clip.mp4", people).codec == "aac"


def test_consent_is_required(media, people, tmp_path):
    with pytest.raises(service.RecordingRejected, match="consent"):
        service.recording_create(source=wav_write(path=tmp_path / "a.wav"), original_name="a.wav", uploaded_by=people["instructor"],
                                 title="", cohort=people["cohort"], consent_statement="  ", enqueue=False)
    _nothing_left(media)


def test_upload_view_shows_the_specific_error_and_stores_nothing(client, media, people, tmp_path):
    client.force_login(people["instructor"])
    with (tmp_path / "x.txt").open("w") as handle:
        handle.write("hello")
    with (tmp_path / "x.txt").open("rb") as handle:
        response = client.post(reverse("feedback:recording_upload"), {
            "file": handle, "cohort": people["cohort"].pk, "consent_statement": "ok", "consent": "on", "rubric_role": "trainee",
        })
    assert response.status_code == 400
    assert "Wrong type of file" in response.content.decode()
    _nothing_left(media)
    assert not list((media / "recordings" / "incoming").glob("*"))  # the temporary upload is gone too


def test_upload_view_stores_the_recording_and_enqueues_decode(client, media, people, tmp_path, django_capture_on_commit_callbacks, monkeypatch):
    from feedback import tasks

    sent = []
    monkeypatch.setattr(tasks.recording_speech_stage, "apply_async", lambda args, queue: sent.append((args, queue)))
    client.force_login(people["instructor"])
    with wav_write(path=tmp_path / "a.wav").open("rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("feedback:recording_upload"), {
            "file": handle, "cohort": people["cohort"].pk, "consent_statement": "All agreed.", "consent": "on",
            "rubric_role": "trainee", "trainee": people["trainee"].pk,
        })
    recording = Recording.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("feedback:recording_detail", args=[recording.pk])
    assert sent == [([recording.pk, "decode"], "speech")]
    assert list(recording.participants.values_list("role", flat=True)) == ["trainee"]


def test_another_cohorts_instructor_cannot_upload_into_a_cohort_they_do_not_own(client, media, people, tmp_path):
    other = UserFactory(role="instructor")
    client.force_login(other)
    with wav_write(path=tmp_path / "a.wav").open("rb") as handle:
        response = client.post(reverse("feedback:recording_upload"), {
            "file": handle, "cohort": people["cohort"].pk, "consent_statement": "ok", "consent": "on", "rubric_role": "trainee"})
    assert response.status_code == 400 and Recording.objects.count() == 0


def test_command_reports_a_bad_file_in_one_line_and_fails(media, people, tmp_path, capsys):
    (tmp_path / "bad.txt").write_text("nope")
    with pytest.raises(CommandError, match="could not be analysed"):
        call_command("analyze_recording", str(tmp_path / "bad.txt"), "--user", people["instructor"].username,
                     "--cohort", people["cohort"].name, "--consent", "ok")
    assert "Wrong type of file" in capsys.readouterr().err
    _nothing_left(media)


# --- access to audio and pages --------------------------------------------------------------


def test_audio_is_served_with_ranges_only_to_those_who_may_see_it(client, media, people):
    recording = recording_make(cohort=people["cohort"], uploader=people["instructor"])
    url = reverse("feedback:recording_audio", args=[recording.pk])
    client.force_login(people["trainee"])
    assert client.get(url).status_code == 403
    client.force_login(UserFactory(role="instructor"))
    assert client.get(url).status_code == 404
    client.force_login(people["instructor"])
    whole = client.get(url)
    body = b"".join(whole.streaming_content)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes" and body[:4] == b"RIFF"
    part = client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-199/{len(body)}"
    assert b"".join(part.streaming_content) == body[100:200]
    assert client.get(url, HTTP_RANGE=f"bytes={len(body) + 5}-").status_code == 416
    # nothing under MEDIA_URL serves it
    assert client.get("/media/" + recording.audio_path).status_code == 404


def test_review_page_lists_turns_words_removed_segments_and_analytics(client, media, people):
    recording = recording_make(cohort=people["cohort"], uploader=people["instructor"])
    client.force_login(people["instructor"])
    html = client.get(reverse("feedback:recording_detail", args=[recording.pk])).content.decode()
    assert 'data-testid="word"' in html and "needle" in html
    assert "removed: known hallucination phrase" in html
    assert 'data-testid="analytics-row"' in html
    assert html.count('data-testid="timeline-lane"') == 3  # two speakers + removed


# --- corrections --------------------------------------------------------------------------


def _analysis_pending(recording) -> bool:
    return RecordingStage.objects.get(recording=recording, name="analysis").status == "pending"


def test_renaming_a_speaker_reruns_analysis_only_when_the_role_changes(media, people, django_capture_on_commit_callbacks, monkeypatch):
    from feedback import tasks

    sent = []
    monkeypatch.setattr(tasks.recording_analysis_stage, "apply_async", lambda args, queue: sent.append((args, queue)))
    recording = recording_make(cohort=people["cohort"], uploader=people["instructor"])
    speaker = recording.speakers.get(label="SPEAKER_00")
    with django_capture_on_commit_callbacks(execute=True):
        assert service.speaker_rename(speaker=speaker, name="Dr Lee", role="trainer", actor=people["instructor"]) is False
    assert sent == [] and not _analysis_pending(recording)
    with django_capture_on_commit_callbacks(execute=True):
        assert service.speaker_rename(speaker=speaker, name="Dr Lee", role="trainee", actor=people["instructor"]) is True
    assert sent == [([recording.pk, "analysis"], "analysis")]
    stages = dict(RecordingStage.objects.filter(recording=recording).values_list("name", "status"))
    assert stages["analysis"] == "pending" and all(v == "done" for k, v in stages.items() if k != "analysis")


def test_merge_reassign_and_restore_move_segments_and_rerun_analysis(media, people, django_capture_on_commit_callbacks, monkeypatch):
    from feedback import tasks

    monkeypatch.setattr(tasks.recording_analysis_stage, "apply_async", lambda args, queue: None)
    recording = recording_make(cohort=people["cohort"], uploader=people["instructor"])
    a, b = recording.speakers.order_by("position")
    removed = recording.segments.get(removed=True)
    with django_capture_on_commit_callbacks(execute=True):
        service.segment_restore(segment=removed, actor=people["instructor"])
    removed.refresh_from_db()
    assert not removed.removed and removed.restored_by == people["instructor"]
    with django_capture_on_commit_callbacks(execute=True):
        service.segment_reassign(segment=removed, speaker=b, actor=people["instructor"])
        service.speakers_merge(source=b, target=a, actor=people["instructor"])
    assert set(recording.segments.values_list("speaker_id", flat=True)) == {a.pk}
    assert _analysis_pending(recording)
    kinds = list(RecordingEvent.objects.filter(recording=recording).values_list("kind", flat=True))
    assert {"segment-restored", "segment-reassigned", "speakers-merged", "rerun"} <= set(kinds)


def test_a_correction_becomes_an_exemplar_and_agree_does_not(media, people):
    framework = FrameworkFactory()
    recording = recording_make(cohort=people["cohort"], uploader=people["instructor"], framework_slug=framework.slug)
    item = recording.items.get()
    recording_item_review(item=item, reviewer=people["instructor"], verdict="agree")
    assert not Exemplar.objects.filter(source=Exemplar.Source.CORRECTION).exists()
    recording_item_review(item=item, reviewer=people["instructor"], verdict="disagree", corrected_text="Not feedback: a request.")
    exemplar = Exemplar.objects.get(source=Exemplar.Source.CORRECTION)
    assert exemplar.utterance == "Keep the needle vertical." and exemplar.feedback == "Not feedback: a request."
    assert exemplar.framework == framework and exemplar.created_by == people["instructor"]


# --- retention ----------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [True, False])
def test_retention_purge_deletes_the_audio_and_says_so(media, people, settings, keep):
    settings.RECORDING_KEEP_TRANSCRIPT = keep
    expired = recording_make(cohort=people["cohort"], uploader=people["instructor"])
    current = recording_make(cohort=people["cohort"], uploader=people["instructor"])
    Recording.objects.filter(pk=expired.pk).update(retention_until=timezone.now() - timedelta(days=1))
    audio = Path(media) / expired.audio_path
    assert service.recordings_purge_expired() == [expired.pk]
    expired.refresh_from_db()
    assert not audio.exists() and expired.audio_path == "" and expired.audio_deleted_at is not None
    assert expired.segments.exists() is keep
    assert expired.events.filter(kind="retention").exists()
    assert (Path(media) / current.audio_path).exists()
    assert service.recordings_purge_expired() == []  # idempotent


def test_recording_delete_removes_rows_and_files(media, people):
    recording = recording_make(cohort=people["cohort"], uploader=people["instructor"])
    service.recording_delete(recording=recording)
    _nothing_left(media)


@pytest.mark.django_db(transaction=True)  # the command runs diarization and ASR in two threads, each with its own connection
@pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed")
def test_command_runs_the_whole_pipeline_on_speech(media, people, tmp_path, capsys, monkeypatch):
    from feedback import tasks
    from tests.support.speech import speech_synthesize

    for task in (tasks.recording_speech_stage, tasks.recording_analysis_stage):  # no worker here: leave the broker alone
        monkeypatch.setattr(task, "apply_async", lambda args, queue: None)
    path = speech_synthesize(text="Keep your needle at a right angle to the skin.", path=tmp_path / "one.wav")
    call_command("analyze_recording", str(path), "--user", people["instructor"].username, "--cohort", people["cohort"].name,
                 "--consent", "ok")
    recording = Recording.objects.get()
    assert recording.status == "done"
    text = " ".join(recording.segments.filter(removed=False).values_list("text", flat=True)).lower()
    assert "needle" in text
    assert "asr: done" in capsys.readouterr().out


@pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed")
def test_long_recordings_are_split_into_parts_that_each_run_as_a_task(media, people, tmp_path, settings):
    from feedback.services.recording_pipeline import recording_stage_run
    from tests.support.recordings import conversation_build

    settings.RECORDING_ASR_PART_S = 1.0  # one window per task
    settings.RECORDING_DIARIZE_PART_S = 8.0  # parts of ~8 s, speakers linked across them
    settings.RECORDING_TASK_BUDGET_S = 0.0  # every part is its own task
    path, turns, _ = conversation_build(path=tmp_path / "conv.wav", nonspeech=(), gap_s=1.0)
    recording = _create(path, people)
    outcomes = []
    for stage in ("decode", "vad", "diarize", "asr", "clean", "roles", "analysis"):
        while (outcome := recording_stage_run(recording_id=recording.pk, stage=stage)) == "continued":
            outcomes.append(stage)
        assert outcome == "done", (stage, outcome, RecordingStage.objects.get(recording=recording, name=stage).error)
    stages = {s.name: s for s in recording.stages.all()}
    assert stages["diarize"].attempts == len(stages["diarize"].result["parts"]) >= 3
    assert stages["asr"].attempts == stages["asr"].result["windows"] >= 2
    assert outcomes.count("asr") == stages["asr"].attempts - 1
    text = " ".join(recording.segments.filter(removed=False).values_list("text", flat=True)).lower()
    # the first line, the last and one in between, each once (windows joined without loss or overlap);
    # "knot": one run heard the last two lines as "outdoor gently, and high free lots. ... tying the knot now"
    assert "sutures" in text and "knot" in text and text.count("incision") == 1
