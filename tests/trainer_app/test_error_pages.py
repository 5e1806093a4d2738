"""The 500 and 503 pages: they render with no request and no database, carry no script (CSP), and
an outage (database connection, Redis, broker) raised while answering a page is a 503 with one
warning line, while a bug stays a 500."""

from __future__ import annotations

import logging
import re

import pytest
from django.db import IntegrityError, OperationalError
from django.template import loader
from django.test import Client, RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.factories import UserFactory
from trainer_app import error_pages


@pytest.mark.parametrize("template,testid", [("500.html", "server-error"), ("503.html", "service-unavailable")])
def test_error_pages_render_alone_with_the_site_stylesheet_and_no_script(template, testid):
    # No request, no context, no database (this test has none: a query would fail it).
    html = loader.get_template(template).render()
    assert f'data-testid="{testid}"' in html and 'class="topbar"' in html
    assert '<link rel="stylesheet" href="/static/css/app.css' in html
    assert "<script" not in html.lower() and not re.search(r"\son[a-z]+\s*=", html)  # no script, no handler attribute


def _raised(exc: Exception):
    try:
        raise exc
    except Exception:
        return error_pages.server_error(RequestFactory().get("/anything/"))


def test_handler500_serves_503_for_an_outage_and_500_for_a_bug():
    outage = _raised(OperationalError("terminating connection due to administrator command"))
    assert outage.status_code == 503 and outage["Retry-After"] == "5"
    assert b'data-testid="service-unavailable"' in outage.content
    bug = _raised(IntegrityError("duplicate key"))
    assert bug.status_code == 500 and b'data-testid="server-error"' in bug.content


def test_handler500_falls_back_to_a_fixed_page_when_its_template_fails(monkeypatch):
    def broken(name):
        raise ValueError("manifest has no entry for css/app.css")

    monkeypatch.setattr(error_pages.loader, "get_template", broken)
    response = _raised(RuntimeError("bug"))
    assert response.status_code == 500 and b"<h1>Something went wrong</h1>" in response.content


@pytest.fixture
def dashboard_failing(db, monkeypatch):
    """The dashboard's panels raise what the test sets (as if the database or Redis went away)."""
    from trainer_app import views

    failure = {}

    def panels_for(**kwargs):
        raise failure["exc"]

    monkeypatch.setattr(views, "dashboard_panels_for", panels_for)
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role="trainee"))
    return client, failure


@pytest.mark.parametrize("exc", [OperationalError("server closed the connection unexpectedly"),
                                 RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")])
def test_an_outage_in_a_view_is_a_503_page_with_one_warning_line(dashboard_failing, caplog, exc):
    client, failure = dashboard_failing
    failure["exc"] = exc
    caplog.set_level(logging.INFO)
    for _ in range(3):
        response = client.get("/dashboard/")
        assert response.status_code == 503 and response["Retry-After"] == "5"
        html = response.content.decode()
        assert 'data-testid="service-unavailable"' in html and "Content-Security-Policy" in response.headers
    assert not [r for r in caplog.records if r.exc_info]  # no traceback
    assert len([r for r in caplog.records if r.name == "trainer_app.error_pages"]) == 1
    assert client.get("/dashboard/", HTTP_ACCEPT="application/json").json() == {
        "error": "unavailable", "message": error_pages.UNAVAILABLE_MESSAGE}


def test_a_bug_in_a_view_is_still_a_500_page_with_its_traceback(dashboard_failing, caplog):
    client, failure = dashboard_failing
    failure["exc"] = ValueError("a bug")
    response = client.get("/dashboard/")
    assert response.status_code == 500
    assert 'data-testid="server-error"' in response.content.decode()
    assert any(r.exc_info for r in caplog.records if r.name == "django.request")
