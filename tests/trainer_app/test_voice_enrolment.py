"""Voice enrolment: the page, consent, refusals with reasons, the voice print computed in-process and
on a real worker, deletion, the admin's upload for someone, and the selector."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import UserFactory
from tests.support.speech import audio_encode, speech_concat, speech_silence, speech_synthesize, speech_tools_available
from tests.support.voices import ENROL_TEXT
from trainer_app.engines.speech.speaker_embeddings import speaker_embedding_model_name
from trainer_app.forms_voice import READ_ALOUD_TEXT
from trainer_app.models import VoiceEnrolment
from trainer_app.selectors import voice_enrolments_for_users
from trainer_app.services_voice import (
    VoiceEnrolmentRejected,
    voice_enrolment_claim,
    voice_enrolment_create,
    voice_enrolment_process,
)

pytestmark = pytest.mark.django_db

needs_speech_tools = pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed")
PAGE = "/accounts/voice/"


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    if not speech_tools_available():
        pytest.skip("espeak-ng and sox are needed")
    d = tmp_path_factory.mktemp("enrol-clips")
    reading = speech_synthesize(text=ENROL_TEXT, path=d / "reading.wav", voice="en-us+m3")
    short = speech_synthesize(text="Hello there, how are you?", path=d / "short.wav", voice="en-us")
    silence = speech_silence(path=d / "silence.wav", seconds=8)
    return {
        "reading": reading,
        "reading_webm": audio_encode(src=reading, dst=d / "reading.webm", container="webm"),
        "other_voice": speech_synthesize(text=ENROL_TEXT, path=d / "other.wav", voice="en+f3"),
        "short": short,
        "silence": silence,
        # 8 s long, so the web's quick check passes, but only ~2 s of it is speech: the worker refuses it
        "mostly_silence": speech_concat(paths=[short, silence], path=d / "mostly_silence.wav"),
    }


def _upload(path: Path, *, mime: str = "audio/wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type=mime)


def _post(client, clip, *, consent=True, keep=False, url=PAGE, mime="audio/wav"):
    data = {"audio": _upload(clip, mime=mime)}
    if consent:
        data["consent"] = "on"
    if keep:
        data["keep_audio"] = "on"
    return client.post(url, data)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def trainee(db):
    return UserFactory(role="trainee")


def _process(enrolment: VoiceEnrolment, capture) -> VoiceEnrolment:
    assert voice_enrolment_claim(enrolment_id=enrolment.pk)
    with capture(execute=True):
        voice_enrolment_process(enrolment_id=enrolment.pk)
    return VoiceEnrolment.objects.get(pk=enrolment.pk)


# --- the page ----------------------------------------------------------------------------------


def test_page_shows_text_consent_recorder_and_file_upload(client, trainee, media):
    client.force_login(trainee)
    body = client.get(PAGE).content.decode()
    for testid in ("voice-read-aloud", "voice-consent", "voice-keep-audio", "voice-record", "voice-file",
                   "voice-submit"):  # fmt: skip
        assert f'data-testid="{testid}"' in body, testid
    assert READ_ALOUD_TEXT in body
    assert 'data-status="none"' in body
    assert 'enctype="multipart/form-data"' in body and "csrfmiddlewaretoken" in body


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- refusals, each with its reason, nothing stored ------------------------------------------


@needs_speech_tools
def test_no_consent_no_voice_print(client, trainee, media, clips):
    client.force_login(trainee)
    response = _post(client, clips["reading"], consent=False)
    assert response.status_code == 400
    assert "no voice print is made without it" in response.content.decode()
    assert not VoiceEnrolment.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "mime", "message"),
    [
        ("notes.txt", b"hello", "text/plain", "can&#x27;t be used"),
        ("voice.webm", b"\x1a\x45\xdf\xa3 not really webm", "audio/webm", "couldn&#x27;t read that audio file"),
        ("voice.webm", b"", "audio/webm", "The recording is empty"),
    ],
)
def test_files_that_are_not_usable_audio_are_refused(client, trainee, media, name, data, mime, message):
    client.force_login(trainee)
    response = client.post(PAGE, {"consent": "on", "audio": SimpleUploadedFile(name, data, content_type=mime)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not VoiceEnrolment.objects.exists()


@needs_speech_tools
def test_a_clip_under_five_seconds_is_refused(client, trainee, media, clips):
    client.force_login(trainee)
    response = _post(client, clips["short"])
    assert response.status_code == 400
    assert "Please record at least 5 seconds" in response.content.decode()
    assert not VoiceEnrolment.objects.exists()


@needs_speech_tools
def test_silence_is_refused(client, trainee, media, clips):
    client.force_login(trainee)
    response = _post(client, clips["silence"])
    assert response.status_code == 400 and "That recording is silent" in response.content.decode()
    assert not VoiceEnrolment.objects.exists()


def test_too_large_is_refused_before_decoding(client, trainee, media, settings):
    settings.AUDIO_MAX_BYTES = 1024
    client.force_login(trainee)
    response = client.post(PAGE, {"consent": "on", "audio": SimpleUploadedFile("v.wav", b"\0" * 4096, content_type="audio/wav")})
    assert response.status_code == 400 and "too large" in response.content.decode()


# --- storing and computing -------------------------------------------------------------------


@needs_speech_tools
def test_upload_stores_the_clip_with_consent_and_enqueues_after_commit(
    client, trainee, media, clips, django_capture_on_commit_callbacks
):
    client.force_login(trainee)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _post(client, clips["reading_webm"], mime="audio/webm;codecs=opus")
    assert response.status_code == 302 and response["Location"] == PAGE
    assert len(callbacks) == 1
    enrolment = VoiceEnrolment.objects.get()
    assert enrolment.user == trainee and enrolment.created_by == trainee
    assert enrolment.status == "pending" and enrolment.consent_at is not None and not enrolment.keep_audio
    assert enrolment.audio and default_storage.exists(enrolment.audio.name)
    assert 10 <= enrolment.duration_s <= 13
    page = client.get(PAGE).content.decode()
    assert 'data-status="pending"' in page and 'hx-trigger="every 1s"' in page


@needs_speech_tools
def test_the_voice_print_is_computed_and_the_clip_deleted_without_consent_to_keep_it(
    trainee, media, clips, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        enrolment = voice_enrolment_create(
            user=trainee, created_by=trainee, keep_audio=False, audio=_upload(clips["reading"])
        )
    audio_name = enrolment.audio.name
    done = _process(enrolment, django_capture_on_commit_callbacks)
    assert done.status == "done" and done.error == ""
    vector = np.frombuffer(bytes(done.embedding), dtype="<f4")
    assert vector.shape == (256,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-4
    assert done.model_name == speaker_embedding_model_name()
    assert 8 <= done.speech_s <= done.duration_s
    assert not done.audio and not default_storage.exists(audio_name)


@needs_speech_tools
def test_the_clip_is_kept_when_the_person_agreed_and_served_only_to_them_and_admins(
    client, trainee, media, clips, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        enrolment = voice_enrolment_create(user=trainee, created_by=trainee, keep_audio=True, audio=_upload(clips["reading"]))
    done = _process(enrolment, django_capture_on_commit_callbacks)
    assert done.status == "done" and done.audio and default_storage.exists(done.audio.name)
    url = reverse("voice_enrolment_audio", args=[done.pk])
    client.force_login(trainee)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    assert b"".join(response.streaming_content)[:4] == b"RIFF"
    assert 'data-testid="voice-audio-link"' in client.get(PAGE).content.decode()
    client.force_login(UserFactory(role="admin"))
    assert client.get(url).status_code == 200
    for role in ("trainee", "instructor"):
        client.force_login(UserFactory(role=role))
        assert client.get(url).status_code == 404


@needs_speech_tools
def test_too_little_speech_fails_in_the_worker_with_the_reason(
    client, trainee, media, clips, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        enrolment = voice_enrolment_create(
            user=trainee, created_by=trainee, keep_audio=True, audio=_upload(clips["mostly_silence"])
        )
    audio_name = enrolment.audio.name
    failed = _process(enrolment, django_capture_on_commit_callbacks)
    assert failed.status == "failed"
    assert "We heard only" in failed.error and "at least 5 s are needed" in failed.error
    assert failed.embedding is None and not failed.audio and not default_storage.exists(audio_name)
    client.force_login(trainee)
    page = client.get(PAGE).content.decode()
    assert 'data-status="failed"' in page and "We heard only" in page


@needs_speech_tools
def test_processing_is_idempotent(trainee, media, clips, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        enrolment = voice_enrolment_create(user=trainee, created_by=trainee, keep_audio=False, audio=_upload(clips["reading"]))
    assert voice_enrolment_process(enrolment_id=enrolment.pk) is None  # not claimed: nothing happens
    done = _process(enrolment, django_capture_on_commit_callbacks)
    assert not voice_enrolment_claim(enrolment_id=enrolment.pk)  # a redelivered message finds it done
    assert voice_enrolment_process(enrolment_id=enrolment.pk) is None
    assert VoiceEnrolment.objects.get(pk=enrolment.pk).embedding == done.embedding


@needs_speech_tools
def test_samples_can_be_enrolled_directly_and_a_new_print_replaces_the_old(
    trainee, media, clips, django_capture_on_commit_callbacks
):
    from tests.support.speech import audio_read_wav

    with django_capture_on_commit_callbacks(execute=False):
        first = voice_enrolment_create(
            user=trainee, created_by=None, keep_audio=True, samples=audio_read_wav(path=clips["reading"])
        )
    first = _process(first, django_capture_on_commit_callbacks)
    first_audio = first.audio.name
    with django_capture_on_commit_callbacks(execute=False):
        second = voice_enrolment_create(user=trainee, created_by=trainee, keep_audio=False, audio=_upload(clips["reading"]))
    _process(second, django_capture_on_commit_callbacks)
    assert list(VoiceEnrolment.objects.values_list("pk", flat=True)) == [second.pk]
    assert not default_storage.exists(first_audio)


def test_direct_samples_are_checked_too(trainee, media):
    with pytest.raises(VoiceEnrolmentRejected, match="only 1.0 s long"):
        voice_enrolment_create(user=trainee, created_by=trainee, keep_audio=False, samples=np.zeros(16000, np.float32))
    with pytest.raises(VoiceEnrolmentRejected, match="silent"):
        voice_enrolment_create(user=trainee, created_by=trainee, keep_audio=False, samples=np.zeros(16000 * 8, np.float32))
    with pytest.raises(ValueError, match="exactly one"):
        voice_enrolment_create(user=trainee, created_by=trainee, keep_audio=False)


# --- deleting ----------------------------------------------------------------------------------


def _done_enrolment(user, *, keep_audio=True, model_name=None, vector=None) -> VoiceEnrolment:
    from django.core.files.base import ContentFile
    from django.utils import timezone

    vector = np.ones(256, dtype="<f4") / 16 if vector is None else vector
    enrolment = VoiceEnrolment(
        user=user, created_by=user, status="done", consent_at=timezone.now(), completed_at=timezone.now(),
        keep_audio=keep_audio, embedding=np.asarray(vector, dtype="<f4").tobytes(),
        model_name=model_name or speaker_embedding_model_name(), speech_s=9.5, duration_s=11.0, mime_type="audio/wav",
    )  # fmt: skip
    if keep_audio:
        enrolment.audio.save("kept.wav", ContentFile(b"RIFF....WAVE"), save=False)
    enrolment.save()
    return enrolment


def test_the_person_deletes_their_voice_print_and_recording(client, trainee, media, django_capture_on_commit_callbacks):
    enrolment = _done_enrolment(trainee)
    name = enrolment.audio.name
    client.force_login(trainee)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("voice_enrolment_delete", args=[enrolment.pk]))
    assert response.status_code == 302 and response["Location"] == PAGE
    assert not VoiceEnrolment.objects.exists() and not default_storage.exists(name)


@pytest.mark.parametrize("role", ["trainee", "instructor"])
def test_nobody_else_but_an_admin_sees_or_deletes_it(client, trainee, media, role):
    from tests.factories import CohortFactory

    enrolment = _done_enrolment(trainee)
    other = UserFactory(role=role)
    if role == "instructor":
        CohortFactory(owner=other, members=[trainee])  # even the person's own instructor
    client.force_login(other)
    assert client.post(reverse("voice_enrolment_delete", args=[enrolment.pk])).status_code == 404
    assert client.get(reverse("voice_enrolment_status", args=[enrolment.pk])).status_code == 404
    assert client.get(reverse("voice_enrolment_user", args=[trainee.pk])).status_code == 403
    assert VoiceEnrolment.objects.filter(pk=enrolment.pk).exists()
    client.force_login(UserFactory(role="admin"))
    assert client.get(reverse("voice_enrolment_status", args=[enrolment.pk])).status_code == 200
    response = client.post(reverse("voice_enrolment_delete", args=[enrolment.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("voice_enrolment_user", args=[trainee.pk])
    assert not VoiceEnrolment.objects.exists()


def test_deleting_the_user_deletes_the_recording(trainee, media, django_capture_on_commit_callbacks):
    name = _done_enrolment(trainee).audio.name
    with django_capture_on_commit_callbacks(execute=True):
        trainee.delete()
    assert not VoiceEnrolment.objects.exists() and not default_storage.exists(name)


# --- an admin, for someone -------------------------------------------------------------------


@needs_speech_tools
def test_an_admin_uploads_a_clip_for_someone(client, trainee, media, clips, django_capture_on_commit_callbacks):
    admin = UserFactory(role="admin")
    client.force_login(admin)
    url = reverse("voice_enrolment_user", args=[trainee.pk])
    page = client.get(url).content.decode()
    assert f"Voice of {trainee.username}" in page and "This person has agreed" in page
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _post(client, clips["reading"], url=url)
    assert response.status_code == 302 and response["Location"] == url and len(callbacks) == 1
    enrolment = VoiceEnrolment.objects.get()
    assert enrolment.user == trainee and enrolment.created_by == admin
    listing = client.get(reverse("voice_enrolment_users")).content.decode()
    assert f'href="{url}"' in listing
    assert client.get(reverse("voice_enrolment_user", args=[999999])).status_code == 404


def test_admin_listing_is_one_query_for_many_people(client, db, django_assert_max_num_queries):
    admin = UserFactory(role="admin")
    for _ in range(5):
        _done_enrolment(UserFactory(), keep_audio=False)
    client.force_login(admin)
    client.get(reverse("voice_enrolment_users"))  # warm the session and role caches
    with django_assert_max_num_queries(6):  # session, user, roles, the listing; not one per person
        response = client.get(reverse("voice_enrolment_users"))
    assert response.content.decode().count('data-testid="voice-user-row"') == 6


# --- the selector ----------------------------------------------------------------------------


def test_selector_returns_the_current_models_newest_print_per_person(db, django_assert_num_queries):
    a, b, c, d = (UserFactory() for _ in range(4))
    rng = np.random.default_rng(0)
    old, new = rng.random(256).astype("<f4"), rng.random(256).astype("<f4")
    _done_enrolment(a, keep_audio=False, vector=old)
    _done_enrolment(a, keep_audio=False, vector=new)
    _done_enrolment(b, keep_audio=False, model_name="some-other-encoder:1234")
    _done_enrolment(c, keep_audio=False)
    VoiceEnrolment.objects.filter(user=c).update(status="failed")
    with django_assert_num_queries(1):
        found = voice_enrolments_for_users(user_ids=[a.pk, b.pk, c.pk, d.pk])
    assert set(found) == {a.pk}
    assert found[a.pk].dtype == np.float32 and np.array_equal(found[a.pk], new)


# --- a real worker on the speech queue -------------------------------------------------------


@needs_speech_tools
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_computes_the_voice_print(client, celery_worker_process, clips):
    trainee = UserFactory(role="trainee")
    client.force_login(trainee)
    assert _post(client, clips["reading"]).status_code == 302
    enrolment = VoiceEnrolment.objects.get()
    deadline = time.time() + 120
    while time.time() < deadline:
        enrolment.refresh_from_db()
        if enrolment.status in ("done", "failed"):
            break
        time.sleep(0.5)
    assert enrolment.status == "done", enrolment.error
    assert not enrolment.audio
    assert set(voice_enrolments_for_users(user_ids=[trainee.pk])) == {trainee.pk}
    status = client.get(reverse("voice_enrolment_status", args=[enrolment.pk])).content.decode()
    assert 'data-status="done"' in status and 'data-testid="voice-delete"' in status
