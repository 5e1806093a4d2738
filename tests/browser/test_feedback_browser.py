"""Feedback in real Chromium: live items during a session, the debrief and its download, an instructor's correction."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedback.models import Assessment
from tests.browser.conftest import log_in
from tests.factories import TEST_PASSWORD, FrameworkFactory
from tests.feedback.live_support import assessment_make, people, session_make, starter_framework_install, turn_add

pytestmark = pytest.mark.browser


def test_live_feedback_items_appear_during_a_session(page):
    p = people()
    starter_framework_install("dear-man")
    session = session_make(trainee=p["trainee"], framework_slugs=["dear-man"])
    log_in(page, p["trainee"].username, TEST_PASSWORD)
    page.goto(f"/practice/sessions/{session.pk}/")
    page.get_by_test_id("chat-input").fill("I'd like a raise of two thousand pounds from April.")
    page.get_by_test_id("chat-send").click()
    panel = page.get_by_test_id("feedback-panel")
    # The worker may still be building the assessor for this framework on the first turn.
    panel.get_by_test_id("feedback-item").first.wait_for(timeout=120_000)
    assert panel.get_by_test_id("feedback-item").count() == 7
    assert Assessment.objects.filter(turn__session=session).count() == 1


def test_debrief_renders_and_downloads(page):
    p = people()
    framework = FrameworkFactory()
    session = session_make(trainee=p["trainee"], framework_slugs=[framework.slug], status="ended")
    assessment_make(turn=turn_add(session=session, text="You never listen."), framework=framework,
                    labels={"describe": "weak", "assert": "absent"})
    log_in(page, p["trainee"].username, TEST_PASSWORD)
    page.goto(f"/practice/sessions/{session.pk}/debrief/")
    assert page.get_by_test_id("debrief").is_visible()
    assert page.get_by_test_id("skill-score").count() == 2
    assert page.get_by_test_id("feedback-item").count() == 2
    with page.expect_download() as download_info:
        page.get_by_test_id("debrief-download").click()
    download = download_info.value
    assert download.suggested_filename == f"debrief-session-{session.pk}.md"
    assert "You never listen." in Path(download.path()).read_text(encoding="utf-8")


def _contrast(rgb_a: str, rgb_b: str) -> float:
    """WCAG contrast ratio of two CSS rgb()/rgba() colours."""
    def luminance(css: str) -> float:
        r, g, b = (int(float(v)) / 255 for v in css[css.index("(") + 1:css.index(")")].split(",")[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(rgb_a), luminance(rgb_b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_debrief_print_control_is_readable(page, tmp_path):
    """The Print control once had white text on the page's light background."""
    p = people()
    framework = FrameworkFactory()
    session = session_make(trainee=p["trainee"], framework_slugs=[framework.slug], status="ended")
    log_in(page, p["trainee"].username, TEST_PASSWORD)
    page.goto(f"/practice/sessions/{session.pk}/debrief/")
    button = page.get_by_test_id("debrief-print")
    assert button.is_visible()
    colour = button.evaluate("el => getComputedStyle(el).color")
    # the first ancestor with a painted background is what the text sits on
    background = button.evaluate("""el => { for (let n = el; n; n = n.parentElement) {
        const c = getComputedStyle(n).backgroundColor; if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; }
        return 'rgb(255, 255, 255)'; }""")
    assert _contrast(colour, background) >= 4.5, (colour, background)  # WCAG AA for body text
    button.locator("xpath=..").screenshot(path=str(tmp_path / "debrief-actions.png"))  # to look at when it fails
    # The log-out control in the dark top bar keeps its white text.
    logout = page.get_by_test_id("logout")
    assert _contrast(logout.evaluate("el => getComputedStyle(el).color"), "rgb(20, 35, 59)") >= 4.5


def test_instructor_correction_shows_in_review_and_debrief(page, browser, live_app):
    p = people()
    framework = FrameworkFactory()
    session = session_make(trainee=p["trainee"], framework_slugs=[framework.slug], status="ended")
    assessment = assessment_make(turn=turn_add(session=session, text="Could we maybe talk pay?"), framework=framework,
                                 labels={"describe": "absent", "assert": "weak"})
    item = assessment.items.get(skill="assert")

    log_in(page, p["instructor"].username, TEST_PASSWORD)
    page.goto(f"/review/sessions/{session.pk}/")
    row = page.locator(f"#review-item-{item.pk}")
    row.get_by_test_id("review-correct").click()
    # A field error comes back in the item's form (the Django form's errors) and nothing is saved.
    row.get_by_test_id("review-text").evaluate("el => el.removeAttribute('maxlength')")
    row.get_by_test_id("review-text").fill("x" * 5001)
    row.get_by_test_id("review-save").click()
    error = page.locator(f"#review-item-{item.pk} [data-testid=review-field-error][data-field=corrected_text]")
    error.wait_for()
    assert "at most 5000 characters" in error.inner_text()
    row = page.locator(f"#review-item-{item.pk}")
    row.get_by_test_id("review-text").fill("")
    row.get_by_test_id("review-label").select_option("strong")
    row.get_by_test_id("review-text").fill("It is a clear, direct request in this context.")
    row.get_by_test_id("review-save").click()
    corrected = page.locator(f"#review-item-{item.pk} [data-testid=feedback-item]")
    corrected.and_(page.locator("[data-label=strong]")).wait_for()
    assert "corrected by instructor" in corrected.inner_text()
    # Another item: a one-click agreement, swapped in place.
    other = assessment.items.get(skill="describe")
    page.locator(f"#review-item-{other.pk}").get_by_test_id("review-agree").click()
    page.locator(f"#review-item-{other.pk} [data-testid=feedback-reviewed]").wait_for()

    trainee_context = browser.new_context(base_url=live_app)
    trainee_page = trainee_context.new_page()
    try:
        log_in(trainee_page, p["trainee"].username, TEST_PASSWORD)
        trainee_page.goto(f"/practice/sessions/{session.pk}/debrief/")
        item_in_debrief = trainee_page.locator("[data-testid=debrief-transcript] [data-testid=feedback-item][data-skill=assert]")
        assert item_in_debrief.get_attribute("data-label") == "strong"
        assert "It is a clear, direct request" in item_in_debrief.inner_text()
        assert trainee_page.locator("[data-testid=skill-score][data-skill=assert]").get_attribute("data-score") == "1.0"
    finally:
        trainee_context.close()
