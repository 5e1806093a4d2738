"""Hidden persona content never reaches a trainee's pages or websocket, the
trainee never sees persona state, and error pages leak nothing."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.test import Client, override_settings
from django.urls import path, reverse
from django.utils import timezone

from simulations.models import Scenario
from simulations.services.packs import starter_packs_load
from simulations.services.sessions import practice_session_start
from tests.factories import CohortFactory, UserFactory
from tests.security.test_websockets import _communicator
from trainer_app import urls as project_urls

ROOT = Path(__file__).resolve().parents[2]


def _walk_texts(node, level=None):
    """(level, text) for every text in a persona's data that carries a disclosure level."""
    if isinstance(node, dict):
        level = node.get("level", level)
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield level, value
            else:
                yield from _walk_texts(value, level)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_texts(value, level)


def _secrets(persona_data: dict) -> list[str]:
    """What a trainee must not see at the start of a session: the cognitive model and every
    fact or scripted line deeper than the surface."""
    model = persona_data.get("cognitive_model") or {}
    secrets = [*model.get("core_beliefs", []), model.get("intermediate_beliefs", ""), model.get("history", "")]
    secrets += [text for level, text in _walk_texts(persona_data) if level in ("core_beliefs", "intermediate_beliefs")]
    return [s.strip() for s in secrets if s and len(s.strip()) > 12]


def _leaks(content: bytes | str, secrets: list[str]) -> list[str]:
    if isinstance(content, bytes) and content[:2] == b"PK":  # a ZIP (the personal-data export): read inside it
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            content = b"\n".join(archive.read(name) for name in archive.namelist())
    text = html.unescape(content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content)
    return [s for s in secrets if s in text]


@pytest.fixture
def cbt(transactional_db, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    results = starter_packs_load()
    assert all(r.ok for r in results.values()), {k: r.summary() for k, r in results.items()}
    scenario = Scenario.objects.filter(persona__kind="cbt-patient").select_related("current_version").order_by("slug").first()
    assert scenario is not None, "the starter packs have no CBT scenario"
    trainee = UserFactory(role="trainee")
    cohort = CohortFactory(members=[trainee])
    scenario.cohorts.add(cohort)
    session = practice_session_start(user=trainee, scenario=scenario)
    secrets = _secrets(scenario.current_version.persona_data)
    assert any(cb in secrets for cb in scenario.current_version.persona_data["cognitive_model"]["core_beliefs"])
    return {"scenario": scenario, "trainee": trainee, "instructor": cohort.owner, "session": session, "secrets": secrets}


def test_no_hidden_persona_content_in_trainee_pages(cbt):
    client = Client()
    client.force_login(cbt["trainee"])
    pages = {
        "session": client.get(reverse("simulations:session_page", args=[cbt["session"].pk])),
        "brief": client.get(reverse("simulations:scenario_brief", args=[cbt["scenario"].slug])),
        "dashboard": client.get(reverse("dashboard")),
    }
    admin = Client()
    admin.force_login(UserFactory(role="admin"))
    pages["preview (what trainees will see)"] = admin.get(
        reverse("simulations:author_scenario_preview", args=[cbt["scenario"].slug]))
    # control: the admin's persona editor shows the cognitive model, so the search really finds it
    editor = admin.get(reverse("simulations:author_persona_edit", args=[cbt["scenario"].persona.slug]))
    assert _leaks(editor.content, cbt["secrets"]), "the leak search finds nothing even where the secrets are"
    leaks = {}
    for name, response in pages.items():
        assert response.status_code == 200, name
        if found := _leaks(response.content, cbt["secrets"]):
            leaks[name] = found
    assert leaks == {}


def test_trainee_session_page_has_no_persona_state_but_the_instructor_does(cbt):
    url = reverse("simulations:session_page", args=[cbt["session"].pk])
    client = Client()
    client.force_login(cbt["trainee"])
    response = client.get(url)
    assert response.context["timeline"] is None and response.context["access"].sees_persona_state is False
    body = response.content.decode()
    for marker in ('data-testid="persona-state"', "Persona state", "cognitive_model", "core_beliefs", "state_after"):
        assert marker not in body, marker
    client.force_login(cbt["instructor"])
    assert 'data-testid="persona-state"' in client.get(url).content.decode()


async def test_no_hidden_persona_content_in_websocket_pushes(cbt):
    communicator = await _communicator(f"/ws/practice/{cbt['session'].pk}/", cbt["trainee"])
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"type": "turn", "text": "Hello, I'm the therapist. What brings you here today?",
                                     "client_id": "hello-1"})
    messages = []
    while not messages or messages[-1].get("kind") != "reply-done":
        message = await communicator.receive_json_from(timeout=60)
        assert message["type"] != "error", message
        messages.append(message)
    await communicator.disconnect()
    pushed = repr(messages)
    assert _leaks(pushed, cbt["secrets"]) == []
    for marker in ("state_after", "trust", "core_beliefs", "cognitive_model"):
        assert marker not in pushed, marker
    replies = await database_sync_to_async(
        lambda: list(cbt["session"].turns.filter(speaker="persona").values_list("text", flat=True)))()
    assert len(replies) >= 2  # the opening line and the reply really arrived


# --- every page a trainee can reach mid-session ---------------------------------------

_LINK = re.compile(r"""(?:href|hx-get|action|src|data-[a-z-]*url)=["'](/[^"'#]*)["']""")
_NOT_PAGES = ("/static/", "/accounts/logout/", "/ws/")


def _reachable_pages(client, start: list[str], limit: int = 300) -> dict[str, object]:
    """GET every same-origin URL the trainee's pages link to (links, htmx GETs, forms, data-*-url), breadth first."""
    seen: dict[str, object] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen or url.startswith(_NOT_PAGES):
            continue
        response = client.get(url)
        seen[url] = response
        if response.status_code == 302:
            queue.append(response["Location"])
        elif "html" in response.get("Content-Type", ""):
            queue += [html.unescape(u) for u in _LINK.findall(response.content.decode())]
    return seen


def _hidden_fact_texts(session) -> tuple[int, list[str]]:
    from simulations.personas.facts import persona_hidden_facts

    session.refresh_from_db()
    level = int((session.persona_state or {}).get("level") or 0)
    facts = persona_hidden_facts(persona=session.scenario_version.persona_data, level=level)
    return level, [f.text for f in facts if len(f.text) > 12]


@pytest.mark.parametrize("level", [0, 2])
def test_no_page_a_trainee_can_reach_mid_session_shows_a_fact_above_the_disclosure_level(cbt, level):
    """Walk everything reachable from the dashboard and the session (debrief and downloads too: closed)."""
    session = cbt["session"]
    if level:  # the conversation has gone deeper: facts up to this level may be said, none above it
        session.persona_state = {**session.persona_state, "level": level}
        session.save(update_fields=["persona_state"])
    current, hidden = _hidden_fact_texts(session)
    assert current == level and hidden, "the persona has nothing above this level: the test would prove nothing"
    client = Client()
    client.force_login(cbt["trainee"])
    debrief_urls = [reverse(n, args=[session.pk]) for n in
                    ("feedback:debrief", "feedback:debrief_markdown", "feedback:debrief_json", "feedback:debrief_formulation")]
    pages = _reachable_pages(client, [reverse("dashboard"), reverse("simulations:session_page", args=[session.pk]),
                                      *debrief_urls])
    assert len(pages) >= 8, sorted(pages)
    assert reverse("simulations:session_page", args=[session.pk]) in pages
    errors = {url: r.status_code for url, r in pages.items() if r.status_code >= 500}
    assert errors == {}
    assert all(pages[url].status_code == 403 for url in debrief_urls), {u: pages[u].status_code for u in debrief_urls}
    leaks = {url: found for url, r in pages.items() if (found := _leaks(r.content, hidden))}
    assert leaks == {}
    # Control: an ended session's debrief does show the deeper facts, so the search would find a leak.
    session.status = "ended"
    session.save(update_fields=["status"])
    from feedback.services.formulation import worksheet_save

    worksheet = worksheet_save(session=session, fields={"situation": "At work."}, results_visible=True)
    model = session.scenario_version.persona_data["cognitive_model"]
    worksheet.score = {"fields": {"core_beliefs": {"reference": ", ".join(model["core_beliefs"]), "label": "missing"}},
                       "total": 0.0}
    worksheet.scored_at = timezone.now()
    worksheet.save(update_fields=["score", "scored_at"])
    assert _leaks(client.get(debrief_urls[0]).content, hidden)


# --- error pages ------------------------------------------------------------------------


def _boom(request):
    raise RuntimeError("SECRET-INTERNAL-DETAIL in /work/main/trainer_app/settings.py")


urlpatterns = [path("boom/", _boom), *project_urls.urlpatterns]  # the real ones, for the error templates' links


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_500_and_404_pages_do_not_leak_internals():
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    for leak in ("Traceback", "SECRET-INTERNAL-DETAIL", "settings.py", "RuntimeError", "/work/main"):
        assert leak not in body, leak
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert "boom/" not in missing.content.decode() and "Using the URLconf" not in missing.content.decode()


@pytest.mark.django_db
def test_a_real_404_lists_no_urls(client):
    body = client.get("/practice/nothing-here/").content.decode()
    assert "author/" not in body and "Using the URLconf" not in body


def test_debug_is_off_unless_asked():
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DJANGO_ENV")}
    env["DJANGO_SETTINGS_MODULE"] = "trainer_app.settings"
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
