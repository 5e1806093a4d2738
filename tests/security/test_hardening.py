"""Response headers (CSP without inline script, Permissions-Policy, Referrer-Policy), login
throttling, session expiry, and no public media URL."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import TEST_PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def _directives(header: str) -> dict[str, list[str]]:
    parts = (p.strip().split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


@pytest.mark.parametrize("url", ["/accounts/login/", "/dashboard/"])
def test_every_page_carries_a_csp_without_inline_script(url):
    client = Client()
    client.force_login(UserFactory(role="trainee"))
    response = client.get(url)
    assert response.status_code == 200
    csp = _directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    script = csp["script-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script and "*" not in script
    assert set(script) - {"'self'"} <= {s for s in script if s.startswith("'nonce-")}  # only a nonce, when one is used


def test_microphone_only_for_this_origin_and_referrer_policy(client):
    response = client.get("/accounts/login/")
    policy = {k.strip(): v for k, v in (p.split("=", 1) for p in response["Permissions-Policy"].split(","))}
    assert policy["microphone"] == "(self)" and policy["camera"] == "()" and policy["geolocation"] == "()"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\{\{\s*request\.csp_nonce)[^>]*>", re.I)
_INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I)
_JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.I)


def test_no_template_has_inline_script_or_event_handlers():
    """The CSP would block them in the browser; catch them before a person does."""
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")) + sorted(ROOT.glob("*/templates/**/*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern, what in ((_INLINE_SCRIPT, "inline <script> without the nonce"), (_INLINE_HANDLER, "on* handler"),
                              (_JS_URL, "javascript: URL")):
            offenders += [f"{path.relative_to(ROOT)}: {what}: {m.group(0)[:60]}" for m in pattern.finditer(text)]
    assert offenders == []


# --- login throttling ----------------------------------------------------------------------


def _attempt(client, username, password, address="10.9.8.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_an_account_is_locked_after_repeated_failures_even_from_several_addresses(settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = UserFactory(role="trainee")
    client = Client()
    for i in range(2):
        response = _attempt(client, user.username, "wrong", address=f"10.0.0.{i + 1}")
        assert response.status_code == 200 and 'data-testid="login-error"' in response.content.decode()
    assert _attempt(client, user.username, "wrong", address="10.0.0.3").status_code == 429  # the third locks
    # now locked: even the right password, from yet another address, is refused with a clear message
    response = _attempt(client, user.username, TEST_PASSWORD, address="10.0.0.99")
    assert response.status_code == 429
    body = response.content.decode()
    assert 'data-testid="login-locked"' in body and "3 failed attempts" in body and "minutes" in body
    assert "_auth_user_id" not in client.session


def test_an_address_is_locked_after_failures_across_accounts(settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for i in range(3):
        _attempt(client, f"guess-{i}", "wrong", address="10.1.1.1")
    victim = UserFactory(role="trainee")
    assert _attempt(client, victim.username, TEST_PASSWORD, address="10.1.1.1").status_code == 429
    # the same account from another address still gets in
    assert _attempt(Client(), victim.username, TEST_PASSWORD, address="10.2.2.2").status_code == 302


def test_a_success_before_the_limit_resets_the_count(settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = UserFactory(role="trainee")
    for _ in range(2):
        _attempt(Client(), user.username, "wrong")
    assert _attempt(Client(), user.username, TEST_PASSWORD).status_code == 302
    for _ in range(2):
        _attempt(Client(), user.username, "wrong")
    assert _attempt(Client(), user.username, TEST_PASSWORD).status_code == 302


# --- sessions and media ----------------------------------------------------------------------


def test_sessions_expire(client, settings):
    assert settings.SESSION_COOKIE_AGE <= 24 * 3600
    user = UserFactory(role="trainee")
    client.force_login(user)
    assert client.get(reverse("dashboard")).status_code == 200
    assert abs(client.session.get_expiry_age() - settings.SESSION_COOKIE_AGE) < 5
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_media_files_have_no_public_url(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "voice").mkdir()
    (tmp_path / "voice" / "clip.webm").write_bytes(b"\x1aE\xdf\xa3 private voice")
    client.force_login(UserFactory(role="admin"))
    for url in (f"{settings.MEDIA_URL}voice/clip.webm", "/media/voice/clip.webm", "/static/../media/voice/clip.webm"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"private voice" not in b"".join(getattr(response, "streaming_content", [response.content]))
