"""People's data: consent (recorded, revocable), retention purge (visible on the health page),
export as one archive, and an admin deleting a person with everything they own."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from feedback.models import Exemplar, Review
from feedback.services.reviews import review_record
from simulations.models import PracticeSession, Turn, VoiceClip
from tests.factories import FrameworkFactory, UserFactory
from tests.feedback.live_support import assessment_make, people, session_make, turn_add
from trainer_app.models import Consent, RetentionPurge
from trainer_app.privacy.consent import consent_active, consent_give, consent_revoke
from trainer_app.privacy.erasure import ErasureRefused, person_erase
from trainer_app.privacy.retention import retention_purge_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _clip(session, *, days_old: int = 0, name: str = "turn.webm") -> VoiceClip:
    clip = VoiceClip(session=session, mime_type="audio/webm", size_bytes=12, client_id=f"c-{name}-{days_old}",
                     status="done", transcript=f"I said this {days_old} days ago")
    clip.audio.save(name, ContentFile(b"\x1aE\xdf\xa3 voice bytes"), save=True)
    VoiceClip.objects.filter(pk=clip.pk).update(created_at=timezone.now() - timedelta(days=days_old))
    clip.refresh_from_db()
    return clip


def _world():
    p = people()
    framework = FrameworkFactory()
    session = session_make(trainee=p["trainee"], framework_slugs=[framework.slug], status="ended")
    turn = turn_add(session=session, text="My name is Ana and I work nights at St Mary's.")
    item = assessment_make(turn=turn, framework=framework, labels={"describe": "weak"}).items.get()
    return {**p, "framework": framework, "session": session, "turn": turn, "item": item}


# --- consent ---------------------------------------------------------------------------------


def test_consent_is_recorded_with_its_wording_and_can_be_withdrawn():
    user = UserFactory(role="trainee")
    assert consent_active(user=user, kind="voice_turns") is None
    consent = consent_give(user=user, kind="voice_turns")
    assert consent_give(user=user, kind="voice_turns").pk == consent.pk  # idempotent
    assert "recorded, transcribed" in consent.statement and consent.given_at
    consent_revoke(user=user, kind="voice_turns")
    assert consent_active(user=user, kind="voice_turns") is None
    assert Consent.objects.get(pk=consent.pk).revoked_at is not None  # the history is kept
    assert consent_give(user=user, kind="voice_turns").pk != consent.pk


def test_withdrawing_voice_consent_deletes_the_audio_and_keeps_transcripts(django_capture_on_commit_callbacks):
    w = _world()
    consent_give(user=w["trainee"], kind="voice_turns")
    clip = _clip(w["session"])
    path = clip.audio.path
    with django_capture_on_commit_callbacks(execute=True):
        deleted = consent_revoke(user=w["trainee"], kind="voice_turns")
    assert deleted == {"voice_clip_audio": 1}
    clip.refresh_from_db()
    assert not clip.audio and clip.audio_deleted_at and clip.transcript.startswith("I said")
    import os

    assert not os.path.exists(path)


def test_the_privacy_page_gives_and_withdraws_consent(client):
    user = UserFactory(role="trainee")
    client.force_login(user)
    assert 'data-testid="consent-give-voice_turns"' in client.get(reverse("privacy")).content.decode()
    client.post(reverse("privacy_consent"), {"kind": "voice_turns", "decision": "give"})
    assert consent_active(user=user, kind="voice_turns")
    client.post(reverse("privacy_consent"), {"kind": "voice_turns", "decision": "revoke", "next": "https://evil.example/"})
    assert consent_active(user=user, kind="voice_turns") is None
    assert client.post(reverse("privacy_consent"), {"kind": "nonsense", "decision": "give"}).status_code == 400


# --- retention ---------------------------------------------------------------------------------


def test_the_purge_deletes_expired_voice_audio_only_and_shows_on_the_health_page(client, settings,
                                                                                 django_capture_on_commit_callbacks):
    settings.VOICE_CLIP_RETENTION_DAYS = 30
    w = _world()
    old, new = _clip(w["session"], days_old=31, name="old.webm"), _clip(w["session"], days_old=2, name="new.webm")
    with django_capture_on_commit_callbacks(execute=True):
        run = retention_purge_run()
    assert run.purged == {"voice_clip_audio": 1} and run.finished_at and not run.error
    old.refresh_from_db()
    new.refresh_from_db()
    assert not old.audio and old.audio_deleted_at and new.audio and not new.audio_deleted_at
    assert retention_purge_run().purged == {"voice_clip_audio": 0}  # idempotent
    client.force_login(UserFactory(role="admin"))
    report = client.get(reverse("healthz")).json()
    assert report["housekeeping"]["retention_purge"]["ok"] is True
    page = client.get(reverse("health")).content.decode()
    assert 'data-testid="housekeeping-retention_purge"' in page and "last run" in page
    # A purge that stopped running shows as late.
    RetentionPurge.objects.update(finished_at=timezone.now() - timedelta(days=3))
    assert client.get(reverse("healthz")).json()["housekeeping"]["retention_purge"]["ok"] is False


def test_the_purge_is_scheduled_on_the_analysis_queue(settings):
    from trainer_app.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE["retention-purge"]
    assert schedule["task"] == "trainer_app.tasks.retention_purge" and schedule["schedule"] <= 24 * 3600
    assert app.amqp.router.route({}, "trainer_app.tasks.retention_purge")["queue"].name == "analysis"


# --- export ---------------------------------------------------------------------------------


def test_a_person_downloads_everything_held_about_them_as_one_archive(client):
    w = _world()
    consent_give(user=w["trainee"], kind="voice_turns")
    clip = _clip(w["session"])
    client.force_login(w["trainee"])
    response = client.get(reverse("privacy_export"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    sections = data["sections"]
    assert sections["account"]["account"]["username"] == w["trainee"].username
    assert sections["account"]["consents"][0]["kind"] == "voice_turns"
    texts = [t["text"] for s in sections["practice"]["practice_sessions"] for t in s["turns"]]
    assert w["turn"].text in texts
    assert sections["feedback"]["feedback_on_my_turns"][0]["skill"] == "describe"
    audio = [n for n in archive.namelist() if n.startswith("files/practice/voice/")]
    assert len(audio) == 1 and archive.read(audio[0]) == clip.audio.open("rb").read()
    # Nobody else's data is in it.
    other = _world()
    assert other["turn"].text not in json.dumps(data) or other["turn"].text == w["turn"].text


# --- erasure ---------------------------------------------------------------------------------


def test_an_admin_deletes_a_person_with_everything_they_own(client, django_capture_on_commit_callbacks):
    w = _world()
    consent_give(user=w["trainee"], kind="voice_turns")
    clip = _clip(w["session"])
    import os

    audio_path = clip.audio.path
    kept = review_record(item=w["item"], reviewer=w["instructor"], verdict="disagree", corrected_label="strong",
                         corrected_text="Clear facts.").exemplar
    second = turn_add(session=w["session"], text="Ana again.")
    second_item = assessment_make(turn=second, framework=w["framework"], labels={"assert": "weak"}).items.get()
    dropped = review_record(item=second_item, reviewer=w["instructor"], verdict="disagree", corrected_label="strong",
                            corrected_text="Fine.").exemplar
    Exemplar.objects.filter(pk=kept.pk).update(anonymised=True)
    bystander = _world()  # another trainee's data must survive
    admin = UserFactory(role="admin")
    client.force_login(admin)
    url = reverse("person_erase", args=[w["trainee"].pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"confirm_username": "wrong-name"})
    assert response.status_code == 400 and PracticeSession.objects.filter(trainee=w["trainee"]).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"confirm_username": w["trainee"].username})
    assert response.status_code == 200 and 'data-testid="erase-done"' in response.content.decode()
    assert not get_user_model().objects.filter(pk=w["trainee"].pk).exists()
    assert not PracticeSession.objects.filter(pk=w["session"].pk).exists()
    assert not Turn.objects.filter(text__contains="Ana").exclude(session__trainee=bystander["trainee"]).exists()
    assert not VoiceClip.objects.exists() and not os.path.exists(audio_path)
    assert not Consent.objects.filter(user_id=w["trainee"].pk).exists()
    assert Exemplar.objects.filter(pk=kept.pk).exists() and not Exemplar.objects.filter(pk=dropped.pk).exists()
    assert PracticeSession.objects.filter(pk=bystander["session"].pk).exists()
    assert Review.objects.filter(item__assessment__turn__session=bystander["session"]).count() == 0  # untouched


def test_erasure_is_one_transaction(monkeypatch):
    w = _world()

    def boom(*, user):
        raise RuntimeError("disk full")

    from trainer_app.privacy import registry

    monkeypatch.setitem(registry._contributors, "zz-failing", registry.PrivacyContributor(
        name="zz-failing", export=lambda **k: registry.PersonalData(), erase=boom, erase_order=99))
    with pytest.raises(RuntimeError):
        person_erase(user=w["trainee"], erased_by=w["admin"])
    assert get_user_model().objects.filter(pk=w["trainee"].pk).exists()
    assert PracticeSession.objects.filter(pk=w["session"].pk).exists()


def test_an_admin_cannot_erase_themself_and_others_cannot_erase_at_all(client):
    admin = UserFactory(role="admin")
    with pytest.raises(ErasureRefused):
        person_erase(user=admin, erased_by=admin)
    victim = UserFactory(role="trainee")
    for role in ("trainee", "instructor"):
        client.force_login(UserFactory(role=role))
        assert client.post(reverse("person_erase", args=[victim.pk]), {"confirm_username": victim.username}).status_code == 403
        assert client.get(reverse("people")).status_code == 403
    assert get_user_model().objects.filter(pk=victim.pk).exists()


@pytest.mark.slow
def test_beat_and_a_real_worker_run_the_purge_periodically(transactional_db, process_logs, tmp_path):
    """Celery beat sends the purge on its schedule; a real worker on the analysis queue runs it."""
    import time

    from tests.support import processes

    log = process_logs / "purge-worker.log"
    # As `manage.py serve` runs it: the feedback worker also runs Celery beat.
    worker = processes.start_worker(log_path=log, queues="analysis", beat=True, RETENTION_PURGE_INTERVAL_S="2")
    try:
        processes.wait_for_worker(worker)
        deadline = time.time() + 60
        while time.time() < deadline and RetentionPurge.objects.filter(finished_at__isnull=False).count() < 2:
            assert worker.poll() is None, log.read_text()
            time.sleep(0.5)
        assert RetentionPurge.objects.filter(finished_at__isnull=False).count() >= 2, log.read_text()
    finally:
        processes.stop(worker)


def test_withdrawing_enrolment_consent_deletes_the_voice_print():
    import numpy as np

    from trainer_app.models import VoiceEnrolment
    from trainer_app.services_voice import voice_enrolment_create

    user = UserFactory(role="trainee")
    t = np.arange(16000 * 8) / 16000
    samples = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    try:
        voice_enrolment_create(user=user, created_by=user, keep_audio=True, samples=samples)
    except Exception as exc:  # the clip check may find too little speech in a synthetic tone
        pytest.skip(f"synthetic clip refused: {exc}")
    assert consent_active(user=user, kind="voice_enrolment") is not None  # recorded when enrolling
    assert VoiceEnrolment.objects.filter(user=user).count() == 1
    assert consent_revoke(user=user, kind="voice_enrolment") == {"voice_enrolments": 1}
    assert not VoiceEnrolment.objects.filter(user=user).exists()
