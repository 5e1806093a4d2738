"""Voice turns: upload validation, and the speech-queue task on a real worker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from simulations.models import Turn, VoiceClip
from tests.factories import UserFactory
from tests.simulations.sessions.helpers import communicator_for, receive_until, session_setup
from tests.support.speech import (
    audio_encode,
    speech_silence,
    speech_synthesize,
    speech_tools_available,
    wer_compute,
)

needs_speech_tools = pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed")


def _upload(client, session, *, data=b"\x1a\x45\xdf\xa3fake", mime="audio/webm;codecs=opus", client_id="clip-1", name="turn.webm"):
    return client.post(
        reverse("simulations:session_voice", args=[session.pk]),
        {"audio": SimpleUploadedFile(name, data, content_type=mime), "client_id": client_id},
    )


def _with_voice_consent(setup: dict) -> dict:
    from trainer_app.privacy.consent import consent_give

    consent_give(user=setup["trainee"], kind="voice_turns")
    return setup


@pytest.fixture
def setup(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    return _with_voice_consent(session_setup())


@pytest.mark.parametrize("mime", ["text/plain", "image/png", "application/x-sh"])
def test_refuses_types_that_are_not_audio(client, setup, mime):
    client.force_login(setup["trainee"])
    response = _upload(client, setup["session"], mime=mime, name="x.bin")
    assert response.status_code == 400 and "can&#x27;t be used" in response.content.decode()
    assert not VoiceClip.objects.exists()


@pytest.mark.parametrize("mime", ["audio/webm;codecs=opus", "audio/ogg", "audio/wav", "audio/mpeg", "audio/mp4"])
def test_accepts_the_allowed_types_once_per_client_id(client, setup, mime, django_capture_on_commit_callbacks):
    client.force_login(setup["trainee"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = _upload(client, setup["session"], mime=mime)
        again = _upload(client, setup["session"], mime=mime)
    assert first.status_code == 202 and again.status_code == 202
    assert 'data-testid="voice-pending"' in first.content.decode()
    assert VoiceClip.objects.count() == 1
    assert len(callbacks) == 1  # one transcription enqueued after commit


def test_refuses_recordings_over_the_size_limit(client, setup, settings):
    settings.AUDIO_MAX_BYTES = 1024
    client.force_login(setup["trainee"])
    response = _upload(client, setup["session"], data=b"\0" * 2048)
    assert response.status_code == 400 and "too large" in response.content.decode()
    assert not VoiceClip.objects.exists()


def test_not_yours(client, setup):
    client.force_login(setup["outsider"])
    assert _upload(client, setup["session"]).status_code == 404
    client.force_login(setup["instructor"])
    assert _upload(client, setup["session"]).status_code == 403  # may watch, may not speak
    client.force_login(UserFactory(role="admin"))
    assert _upload(client, setup["session"]).status_code == 403
    assert not VoiceClip.objects.exists()


def test_needs_csrf(setup):
    client = Client(enforce_csrf_checks=True)
    client.force_login(setup["trainee"])
    assert _upload(client, setup["session"]).status_code == 403


def test_ended_session_refuses_voice(client, setup):
    setup["session"].status = "ended"
    setup["session"].save()
    client.force_login(setup["trainee"])
    assert _upload(client, setup["session"]).status_code == 409


# --- the task, on a real worker process ----------------------------------------------


async def _speak_and_wait(setup, audio: bytes, mime: str, kind: str):
    communicator = await communicator_for(setup["trainee"], setup["session"].pk)
    assert (await communicator.connect())[0]
    client = Client()
    await database_sync_to_async(client.force_login)(setup["trainee"])
    response = await asyncio.to_thread(_upload, client, setup["session"], data=audio, mime=mime, client_id="voice-1")
    assert response.status_code == 202
    messages = await receive_until(communicator, kind, timeout=90)
    await communicator.disconnect()
    return messages


@needs_speech_tools
@pytest.mark.slow
@override_settings(CHAT_RATE_LIMIT_PER_MINUTE=100)
async def test_spoken_turn_becomes_a_trainee_turn_and_gets_a_reply(setup_live, tmp_path):
    wav = speech_synthesize(text="I have been feeling really tired at work lately", path=tmp_path / "s.wav")
    webm = audio_encode(src=wav, dst=tmp_path / "s.webm", container="webm")
    messages = await _speak_and_wait(setup_live, webm.read_bytes(), "audio/webm;codecs=opus", "reply-done")
    kinds = [m["kind"] for m in messages]
    assert kinds.index("transcript") < kinds.index("reply-start")
    transcript = next(m for m in messages if m["kind"] == "transcript")
    turn = await database_sync_to_async(Turn.objects.get)(pk=transcript["data"]["turn_id"])
    assert turn.source == "voice" and turn.speaker == "trainee" and turn.text.strip()
    assert turn.meta["asr_backend"] and turn.meta["clip_id"]
    # nothing configured: live turns are heard by the bundled Whisper tiny.en
    assert turn.meta["asr_backend"] == "faster-whisper (tiny.en, bundled)" and turn.meta["low_accuracy"] is False
    # The words arrive, mostly right: through webm/opus tiny.en got 2 of 9 wrong here and 4 of 9 on CI's CPU
    # ("and I've worked lately"); random or empty text would score near 1. Accuracy itself is held to its
    # target on clean audio in tests/trainer_app/engines/speech/test_asr.py.
    assert wer_compute(reference="I have been feeling really tired at work lately", hypothesis=turn.text) <= 0.5
    assert "feeling really tired" in turn.text.lower()
    # the badge shows exactly when the fallback recognizer transcribed it
    assert ('data-testid="low-accuracy"' in transcript["html"]) == bool(turn.meta["low_accuracy"])
    clip = await database_sync_to_async(VoiceClip.objects.get)()
    assert clip.status == "done" and clip.turn_id == turn.pk and clip.transcript == turn.text
    persona = await database_sync_to_async(lambda: list(Turn.objects.filter(reply_to=turn)))()
    assert len(persona) == 1 and persona[0].text == messages[-1]["data"]["text"]


@needs_speech_tools
@pytest.mark.slow
async def test_silence_gives_a_clear_message_and_no_turn(setup_live, tmp_path):
    wav = speech_silence(path=tmp_path / "quiet.wav", seconds=2.0)
    messages = await _speak_and_wait(setup_live, Path(wav).read_bytes(), "audio/wav", "notice")
    assert "couldn't hear any speech" in messages[-1]["data"]["message"]
    assert 'hx-swap-oob="delete"' in messages[-1]["html"]  # the "Transcribing…" bubble goes away
    assert await database_sync_to_async(Turn.objects.filter(speaker="trainee").count)() == 0
    clip = await database_sync_to_async(VoiceClip.objects.get)()
    assert clip.status == "failed" and clip.error


@pytest.fixture
def setup_live(celery_worker_process, settings):
    cache.clear()
    return _with_voice_consent(session_setup())


def test_a_voice_turn_without_consent_is_refused_with_the_reason(client, setup):
    from simulations.models import VoiceClip
    from trainer_app.privacy.consent import consent_revoke

    consent_revoke(user=setup["trainee"], kind="voice_turns")
    client.force_login(setup["trainee"])
    response = _upload(client, setup["session"])
    assert response.status_code == 403 and "need your agreement" in response.content.decode()
    assert VoiceClip.objects.count() == 0
    page = client.get(reverse("simulations:session_page", args=[setup["session"].pk])).content.decode()
    assert 'data-testid="voice-consent-form"' in page and 'data-testid="mic-toggle"' not in page


# --- lost messages and killed workers: the lease and the sweep ---------------------------


def _clip(session, client_id: str, **fields) -> VoiceClip:
    clip = VoiceClip.objects.create(session=session, audio=SimpleUploadedFile("t.wav", b"RIFF"), mime_type="audio/wav",
                                    size_bytes=4, client_id=client_id)
    VoiceClip.objects.filter(pk=clip.pk).update(**fields)
    return clip


def test_the_sweep_reenqueues_lost_and_abandoned_clips_once_per_lease(setup, settings, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from simulations.services.voice import voice_clip_claim, voice_clips_resume_stalled
    from simulations.tasks import voice_transcribe_clip

    settings.VOICE_CLIP_LEASE_S = 30
    sent = []
    monkeypatch.setattr(voice_transcribe_clip, "apply_async", lambda **kw: sent.append(kw["args"][0]))
    past, future = timezone.now() - timedelta(seconds=1), timezone.now() + timedelta(seconds=30)
    session = setup["session"]
    lost = _clip(session, "lost", lease_until=past)  # never claimed within its lease: the message was lost
    abandoned = _clip(session, "abandoned", status="processing", lease_until=past)  # its worker was killed
    waiting = _clip(session, "waiting", lease_until=future)
    working = _clip(session, "working", status="processing", lease_until=future)
    _clip(session, "done", status="done", lease_until=past)
    assert sorted(voice_clips_resume_stalled()) == sorted([lost.pk, abandoned.pk]) == sorted(sent)
    assert voice_clips_resume_stalled() == []  # not again until another lease has passed
    assert VoiceClip.objects.get(pk=abandoned.pk).status == "pending"  # the dead claim released
    assert voice_clip_claim(clip_id=working.pk) is False and voice_clip_claim(clip_id=waiting.pk) is True
    assert voice_clip_claim(clip_id=abandoned.pk) is True and voice_clip_claim(clip_id=abandoned.pk) is False
    VoiceClip.objects.filter(pk=abandoned.pk).update(lease_until=past)  # its new worker was killed too
    assert voice_clip_claim(clip_id=abandoned.pk) is True


def test_an_upload_is_stored_when_the_broker_is_down_for_the_sweep_to_enqueue(
    client, setup, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    from simulations.tasks import voice_transcribe_clip

    def down(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(voice_transcribe_clip, "apply_async", down)
    client.force_login(setup["trainee"])
    with override_settings(VOICE_CLIP_LEASE_S=30), django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, setup["session"])
    assert response.status_code == 202  # stored; before: a 500 page after the commit
    assert "could not enqueue" in caplog.text
    clip = VoiceClip.objects.get()
    assert clip.status == "pending" and clip.lease_until is not None
