"""Uploads: a text file dressed up as audio, oversized packs, oversized form bodies."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from simulations.models import Scenario, Turn, VoiceClip
from simulations.services.voice import voice_clip_transcribe

pytestmark = pytest.mark.django_db

TEXT = b"#!/bin/sh\necho this is not audio at all\n" * 20


@pytest.mark.parametrize("data", [TEXT, b"\x1a\x45\xdf\xa3" + TEXT], ids=["plain-text", "fake-ebml-header"])
def test_text_file_posing_as_webm_fails_with_a_clear_message_and_no_turn(client, world, data):
    client.force_login(world["trainee"])
    session = world["session"]
    turns_before = Turn.objects.filter(session=session).count()
    response = client.post(
        reverse("simulations:session_voice", args=[session.pk]),
        {"audio": SimpleUploadedFile("turn.webm", data, content_type="audio/webm"), "client_id": "spoof-1"},
    )
    # The declared type is allowed, so the upload is taken and decoding decides (on the speech queue).
    assert response.status_code in (200, 202, 400), response.status_code
    if response.status_code == 400:  # refused at upload: the message must say why
        assert "audio" in response.content.decode().lower() or "record" in response.content.decode().lower()
        return
    clip = VoiceClip.objects.get(session=session, client_id="spoof-1")
    pushed = []
    assert voice_clip_transcribe(clip_id=clip.pk, push=pushed.append) is None  # no exception, no turn
    clip.refresh_from_db()
    assert clip.status == VoiceClip.Status.FAILED
    assert clip.error and "Traceback" not in clip.error and len(clip.error) < 300
    assert "record" in clip.error.lower() or "audio" in clip.error.lower(), clip.error
    assert [e["kind"] for e in pushed] == ["notice"] and clip.error in pushed[0]["data"]["message"]
    assert Turn.objects.filter(session=session).count() == turns_before


@pytest.mark.parametrize("size", [django_settings.PACK_MAX_BYTES + 1, 5 * 1024 * 1024],
                         ids=["just-over", "spooled-to-disk"])
def test_oversized_pack_is_refused_before_parsing(client, world, monkeypatch, size):
    calls = []
    monkeypatch.setattr("simulations.views.authoring.pack_import", lambda **kw: calls.append(kw))
    monkeypatch.setattr("yaml.safe_load", lambda *a, **kw: calls.append(a))
    client.force_login(world["admin"])
    body = b"version: 1\nscenarios: []\n#" + b"x" * (size - 26)
    assert len(body) == size
    response = client.post(reverse("simulations:author_pack_import"),
                           {"file": SimpleUploadedFile("pack.yaml", body, content_type="application/yaml")})
    assert response.status_code == 400
    assert f"the limit is {django_settings.PACK_MAX_BYTES:,} bytes" in response.content.decode()
    assert calls == []
    assert Scenario.objects.count() == 1


def test_a_huge_form_body_is_refused_with_400_not_500(client, world):
    client.force_login(world["trainee"])
    big = "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(reverse("feedback:debrief_formulation", args=[world["session"].pk]), {"situation": big})
    assert response.status_code == 400


def test_worksheet_fields_over_their_limit_are_refused(client, world):
    from feedback.models import FormulationWorksheet

    client.force_login(world["trainee"])
    response = client.post(reverse("feedback:debrief_formulation", args=[world["session"].pk]),
                           {"situation": "x" * 2001})
    assert response.status_code == 200  # the partial re-renders with the error
    assert not FormulationWorksheet.objects.filter(session=world["session"]).exists()


@pytest.mark.parametrize("data", [TEXT, b"\x1a\x45\xdf\xa3" + TEXT], ids=["plain-text", "fake-ebml-header"])
def test_text_file_posing_as_audio_is_refused_by_the_voice_page_and_nothing_is_stored(client, world, data):
    from trainer_app.models import VoiceEnrolment

    before = VoiceEnrolment.objects.count()
    client.force_login(world["other_trainee"])
    response = client.post(
        reverse("voice_enrolment"),
        {"consent": "on", "audio": SimpleUploadedFile("voice.webm", data, content_type="audio/webm")},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "read that audio file" in body and "Traceback" not in body
    assert VoiceEnrolment.objects.count() == before
