"""State-changing endpoints: GET is refused where the view only writes, and a
POST without a CSRF token is refused (403) and changes nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from feedback.models import Exemplar, Review
from simulations.models import Persona, PracticeSession, Scenario, VoiceClip
from trainer_app.models import VoiceEnrolment

pytestmark = pytest.mark.django_db


def _post_only(world) -> list[tuple[str, str]]:
    """(who may use it, url) for endpoints that only accept POST."""
    s, fw, ex = world["session"], world["framework"].slug, world["exemplar"].pk
    return [
        ("trainee", reverse("simulations:session_end", args=[s.pk])),
        ("trainee", reverse("simulations:session_voice", args=[s.pk])),
        ("instructor", reverse("feedback:review_item", args=[s.pk, world["item"].pk])),
        ("admin", reverse("simulations:author_scenario_duplicate", args=[world["scenario"].slug])),
        ("admin", reverse("simulations:author_scenario_try", args=[world["scenario"].slug])),
        ("admin", reverse("simulations:author_persona_duplicate", args=[world["persona"].slug])),
        ("admin", reverse("feedback:author_exemplar_delete", args=[fw, ex])),
        ("trainee", reverse("voice_enrolment_delete", args=[world["voice_enrolment"].pk])),
    ]


def _writes(world) -> list[tuple[str, str, dict]]:
    """(who may use it, url, a valid-looking body) for every state-changing POST."""
    s, fw, ex = world["session"], world["framework"].slug, world["exemplar"].pk
    exemplar = {"skill": "describe", "label": "strong", "utterance": "A new exemplar.", "feedback": "Good."}
    return [
        ("trainee", reverse("simulations:scenario_brief", args=[world["scenario"].slug]), {"mode": "text"}),
        *[(who, url, {}) for who, url in _post_only(world)],
        ("trainee", reverse("feedback:debrief_formulation", args=[s.pk]), {"situation": "x"}),
        ("admin", reverse("feedback:author_exemplar_create", args=[fw]), exemplar),
        ("admin", reverse("feedback:author_exemplar_edit", args=[fw, ex]), exemplar),
        ("admin", reverse("simulations:author_pack_import"),
         {"file": SimpleUploadedFile("p.yaml", b"version: 1\n")}),
        ("admin", reverse("simulations:author_scenario_create"), {"slug": "csrf-made", "title": "x"}),
        ("admin", reverse("simulations:author_scenario_edit", args=[world["scenario"].slug]), {"title": "x"}),
        ("admin", reverse("simulations:author_persona_create"), {"slug": "csrf-made", "name": "x"}),
        ("admin", reverse("simulations:author_persona_edit", args=[world["persona"].slug]), {"name": "x"}),
        ("trainee", reverse("voice_enrolment"), _voice_upload()),
        ("admin", reverse("voice_enrolment_user", args=[world["trainee"].pk]), _voice_upload()),
    ]


def _voice_upload() -> dict:
    return {"consent": "on", "audio": SimpleUploadedFile("v.wav", b"RIFF....WAVE", content_type="audio/wav")}


def _counts():
    return (PracticeSession.objects.count(), PracticeSession.objects.filter(status="active").count(),
            VoiceClip.objects.count(), VoiceEnrolment.objects.count(), Review.objects.count(), Exemplar.objects.count(),
            Scenario.objects.count(), Persona.objects.count(),
            sorted(Exemplar.objects.values_list("utterance", flat=True)),
            sorted(Scenario.objects.values_list("title", flat=True)),
            sorted(Persona.objects.values_list("name", flat=True)))


def test_post_only_endpoints_refuse_get_with_405(world):
    offenders = []
    for who, url in _post_only(world):
        client = Client()
        client.force_login(world[who])
        if (status := client.get(url).status_code) != 405:
            offenders.append(f"GET {url} as {who} -> {status}")
    assert offenders == []
    assert PracticeSession.objects.filter(status="active").count() == 1


def test_every_write_without_a_csrf_token_is_refused_and_changes_nothing(world):
    before = _counts()
    offenders = []
    for who, url, body in _writes(world):
        client = Client(enforce_csrf_checks=True)
        client.force_login(world[who])
        if (status := client.post(url, body).status_code) != 403:
            offenders.append(f"POST {url} as {who} without CSRF -> {status}")
    assert offenders == []
    assert _counts() == before


def test_a_token_from_the_page_is_accepted(world):
    """The check above is a real CSRF refusal, not a permission one: with the token the same user gets in."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["trainee"])
    page = client.get(reverse("simulations:session_page", args=[world["session"].pk]))
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else client.cookies["csrftoken"].value
    response = client.post(reverse("simulations:session_end", args=[world["session"].pk]), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302
    assert PracticeSession.objects.get(pk=world["session"].pk).status != PracticeSession.Status.ACTIVE


def test_logout_needs_post_and_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["trainee"])
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 403
    assert client.get(reverse("dashboard")).status_code == 200  # still logged in
