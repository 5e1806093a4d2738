"""Voice enrolment in real Chromium: record through MediaRecorder from a fake microphone that plays a
wav of espeak-ng speech, consent first, and the voice print computed by the live worker; the
file-upload alternative; refusals shown on the page; deleting."""

from __future__ import annotations

import pytest

from tests.browser.conftest import launch_chromium, log_in
from tests.factories import TEST_PASSWORD, UserFactory
from tests.support.speech import audio_encode, speech_synthesize, speech_tools_available
from tests.support.voices import ENROL_TEXT
from trainer_app.models import VoiceEnrolment

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed"),
]


@pytest.fixture(scope="module")
def reading(tmp_path_factory):
    d = tmp_path_factory.mktemp("voice-browser")
    wav = speech_synthesize(text=ENROL_TEXT, path=d / "reading.wav", voice="en-us+m3", pad_s=0.5)
    short = speech_synthesize(text="Just a moment.", path=d / "short.wav", voice="en-us")
    return {"wav": wav, "webm": audio_encode(src=wav, dst=d / "reading.webm", container="webm"), "short": short}


@pytest.fixture
def mic_page(playwright_instance, live_app, reading):
    """A page in a Chromium whose microphone plays `reading.wav` (permission granted, no prompt)."""
    browser = launch_chromium(
        playwright_instance,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={reading['wav']}",
    )
    context = browser.new_context(base_url=live_app)
    page = context.new_page()
    page.set_default_timeout(20000)
    yield page
    context.close()
    browser.close()


def _wait_for_status(page, status: str, *, timeout_ms: int = 90000) -> None:
    page.wait_for_selector(f'[data-testid="voice-status"][data-status="{status}"]', timeout=timeout_ms)


def test_a_person_consents_records_and_gets_a_voice_print(mic_page):
    page = mic_page
    user = UserFactory(role="trainee")
    log_in(page, user.username, TEST_PASSWORD)
    page.get_by_test_id("nav-voice").click()
    page.wait_for_url("**/accounts/voice/")
    assert page.get_by_test_id("voice-read-aloud").inner_text().startswith("Thank you for coming in today")
    record = page.get_by_test_id("voice-record")
    assert record.is_disabled()  # no recording before consent
    page.get_by_test_id("voice-consent").check()
    assert record.is_enabled()
    record.click()
    page.wait_for_selector('[data-testid="voice-record"][aria-pressed="true"]')
    page.wait_for_timeout(11500)  # the text takes about 11 s to read
    record.click()
    page.wait_for_selector('#voice-recorder[data-recorded="true"]')
    assert "Recording ready" in page.get_by_test_id("voice-recorder-state").inner_text()
    assert page.eval_on_selector('[data-testid="voice-file"]', "el => el.files.length") == 1
    page.get_by_test_id("voice-submit").click()
    page.wait_for_url("**/accounts/voice/")
    _wait_for_status(page, "done")  # polled by htmx until the worker has computed it
    assert "not kept" in page.get_by_test_id("voice-audio-kept").inner_text()
    enrolment = VoiceEnrolment.objects.get(user=user)
    assert enrolment.status == "done" and enrolment.embedding and not enrolment.audio
    assert enrolment.mime_type.startswith("audio/webm") and enrolment.speech_s >= 5

    page.get_by_test_id("voice-delete").click()
    _wait_for_status(page, "none")
    assert not VoiceEnrolment.objects.filter(user=user).exists()


def test_upload_a_file_instead_and_keep_it(page, reading):
    user = UserFactory(role="trainee")
    log_in(page, user.username, TEST_PASSWORD)
    page.goto("/accounts/voice/")
    page.get_by_test_id("voice-file").set_input_files(str(reading["short"]))
    page.get_by_test_id("voice-submit").click()
    assert "no voice print is made without it" in page.get_by_test_id("error-consent").inner_text()
    page.get_by_test_id("voice-consent").check()
    page.get_by_test_id("voice-file").set_input_files(str(reading["short"]))
    page.get_by_test_id("voice-submit").click()
    assert "at least 5 seconds" in page.get_by_test_id("error-audio").inner_text()
    assert not VoiceEnrolment.objects.filter(user=user).exists()

    page.get_by_test_id("voice-consent").check()
    page.get_by_test_id("voice-keep-audio").check()
    page.get_by_test_id("voice-file").set_input_files(str(reading["webm"]))
    page.get_by_test_id("voice-submit").click()
    _wait_for_status(page, "done")
    link = page.get_by_test_id("voice-audio-link")
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] in ("audio/webm", "video/webm")  # as the browser declared it


def test_an_admin_uploads_for_someone_who_then_sees_it(page, reading):
    admin = UserFactory(role="admin")
    person = UserFactory(role="trainee")
    log_in(page, admin.username, TEST_PASSWORD)
    page.get_by_test_id("nav-voices").click()
    page.get_by_role("link", name=person.username).click()
    assert page.get_by_test_id("voice-title").inner_text() == f"Voice of {person.username}"
    page.get_by_test_id("voice-consent").check()
    page.get_by_test_id("voice-file").set_input_files(str(reading["wav"]))
    page.get_by_test_id("voice-submit").click()
    _wait_for_status(page, "done")
    assert f"confirmed by {admin.username}" in page.get_by_test_id("voice-consent-at").inner_text()
    page.get_by_test_id("logout").click()
    log_in(page, person.username, TEST_PASSWORD)
    page.goto("/accounts/voice/")
    _wait_for_status(page, "done", timeout_ms=5000)
