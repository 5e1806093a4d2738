"""A trainee practises in real Chromium: by text end to end, and by voice with a fake microphone."""

from __future__ import annotations

import json

import pytest

from simulations.models import PracticeSession, Turn
from tests.browser.conftest import launch_chromium, log_in
from tests.factories import TEST_PASSWORD, CohortFactory, ScenarioFactory, UserFactory
from tests.support.speech import speech_concat, speech_silence, speech_synthesize, speech_tools_available

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _assigned_trainee():
    trainee = UserFactory(role="trainee")
    scenario = ScenarioFactory(cohorts=[CohortFactory(members=[trainee])])
    return trainee, scenario


def _start(page, scenario, mode="text"):
    page.goto(f"/practice/scenarios/{scenario.slug}/")
    page.locator(f'[data-testid="session-mode"] input[value="{mode}"], input[data-testid="session-mode"][value="{mode}"]').first.check()
    page.get_by_test_id("session-start").click()
    page.wait_for_url("**/practice/sessions/*/**")
    page.wait_for_selector('[data-testid="session-page"][data-connected="true"]')


def _say(page, text: str, replies_before: int) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-send").click()
    page.wait_for_function(
        """n => document.querySelectorAll('[data-testid=persona-message]:not([data-streaming])').length > n""",
        arg=replies_before,
        timeout=60000,  # the first reply of a fresh web process loads the embedding model
    )


def test_trainee_completes_a_text_session(page):
    trainee, scenario = _assigned_trainee()
    log_in(page, trainee.username, TEST_PASSWORD)
    page.get_by_test_id("scenario-link").first.click()
    page.wait_for_url(f"**/practice/scenarios/{scenario.slug}/")
    _start(page, scenario)
    assert page.get_by_test_id("persona-message").count() == 1  # the opening line
    assert page.get_by_test_id("feedback-panel").count() == 1
    timer = page.get_by_test_id("session-timer")
    page.wait_for_function("() => document.querySelector('[data-testid=session-timer]').dataset.secondsLeft")
    assert ":" in timer.text_content()
    lines = ["That sounds really hard. What has been happening?", "How have you been sleeping?", "It makes sense that you feel that way."]
    for i, line in enumerate(lines):
        _say(page, line, replies_before=1 + i)
    assert page.get_by_test_id("trainee-message").count() == 3
    assert page.get_by_test_id("persona-message").count() == 4
    assert page.get_by_test_id("trainee-message").nth(2).text_content().strip().endswith(lines[2])
    # Reload: the full history comes back from the server.
    page.reload()
    page.wait_for_selector('[data-testid="session-page"][data-connected="true"]')
    assert page.get_by_test_id("trainee-message").count() == 3 and page.get_by_test_id("persona-message").count() == 4
    page.get_by_test_id("end-session").click()
    page.wait_for_url("**/debrief/")
    assert page.get_by_test_id("debrief").is_visible()
    session = PracticeSession.objects.get(trainee=trainee)
    assert session.status == "ended"
    assert Turn.objects.filter(session=session).count() == 7
    # The dashboard lists it, with a link to its debrief.
    page.goto("/dashboard/")
    assert page.get_by_test_id("past-session").count() == 1 and page.get_by_test_id("session-debrief-link").is_visible()


@pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed")
def test_voice_turn_from_the_microphone(playwright_instance, live_app, tmp_path):
    speech = speech_synthesize(text="I have been feeling really tired at work lately", path=tmp_path / "speech.wav")
    # Chromium loops the file: speech then a long pause, so a stop at any moment has the words.
    wav = speech_concat(paths=[speech, speech_silence(path=tmp_path / "gap.wav", seconds=6.0)], path=tmp_path / "mic.wav")
    browser = launch_chromium(
        playwright_instance,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
    )
    try:
        context = browser.new_context(base_url=live_app)
        context.grant_permissions(["microphone"], origin=live_app)
        page = context.new_page()
        page.set_default_timeout(60000)
        trainee, scenario = _assigned_trainee()
        log_in(page, trainee.username, TEST_PASSWORD)
        _start(page, scenario, mode="voice")
        page.get_by_test_id("voice-consent-give").click()  # consent before the first voice turn
        page.wait_for_selector('[data-testid="session-page"][data-connected="true"]')
        page.get_by_test_id("mic-toggle").click()
        page.wait_for_selector('[data-testid="mic-toggle"][aria-pressed="true"]')
        page.wait_for_timeout(4500)
        page.get_by_test_id("mic-toggle").click()
        page.wait_for_selector('[data-testid="trainee-message"][data-source="voice"]', timeout=90000)
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=persona-message]:not([data-streaming])').length >= 2",
            timeout=60000,
        )
        turn = Turn.objects.get(session__trainee=trainee, speaker="trainee")
        assert turn.source == "voice" and turn.text.strip()
        assert Turn.objects.filter(reply_to=turn).count() == 1
        if turn.meta.get("low_accuracy"):
            assert page.get_by_test_id("low-accuracy").is_visible()
        assert page.get_by_test_id("voice-pending").count() == 0
        context.close()
    finally:
        browser.close()


def test_a_page_whose_socket_dropped_catches_up_on_the_reply_it_missed(page):
    """Pushes lost while the page was away (here: a reply and its feedback dropped on the wire, then
    the socket closed) are sent again on reconnect from the database; nothing is shown twice."""
    trainee, scenario = _assigned_trainee()
    sockets, lose_pushes = [], {"on": False}

    def lost(message) -> bool:  # the turn's echo gets through (the page knows it was stored); what follows does not
        kind = json.loads(message).get("kind", "") if isinstance(message, str) else ""
        return lose_pushes["on"] and (kind.startswith("reply-") or kind == "feedback")

    def route(ws):  # every session socket goes through here; pushes can be dropped on the way to the page
        server = ws.connect_to_server()
        server.on_message(lambda message: None if lost(message) else ws.send(message))
        sockets.append(ws)

    page.route_web_socket("**/ws/practice/**", route)
    log_in(page, trainee.username, TEST_PASSWORD)
    _start(page, scenario)
    _say(page, "That sounds really hard. What has been happening?", replies_before=1)
    lose_pushes["on"] = True  # from here the page's replies and feedback are lost on the way
    page.get_by_test_id("chat-input").fill("How have you been sleeping?")
    page.get_by_test_id("chat-send").click()
    session = PracticeSession.objects.get(trainee=trainee)
    for _ in range(600):  # the reply is stored meanwhile (the page never sees it)
        if Turn.objects.filter(session=session, speaker="persona", reply_to__isnull=False).count() == 2:
            break
        page.wait_for_timeout(100)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=trainee-message]').length == 2")  # echo seen
    assert page.get_by_test_id("persona-message").count() == 2
    lose_pushes["on"] = False
    sockets[-1].close()  # the drop: the page reconnects, syncs and is sent what it missed
    page.wait_for_function("() => document.querySelectorAll('[data-testid=persona-message]:not([data-streaming])').length == 3",
                           timeout=30000)
    assert page.get_by_test_id("trainee-message").count() == 2  # its own turn shown once (the catch-up's echo deduped)
    assert len(sockets) >= 2
    page.wait_for_timeout(1000)  # any duplicate would have arrived by now
    assert page.get_by_test_id("persona-message").count() == 3
    shown = page.eval_on_selector_all("[data-testid=feedback-turn]", "els => els.map(e => e.dataset.assessments)")
    assert len(shown) == len(set(shown))  # live feedback never shown twice
    assert Turn.objects.filter(session=session, speaker="trainee").count() == 2
