"""Frameworks and exemplars, the 403 page, cohorts, health, password change and
keyboard-only log in, in real Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from feedback.models import Exemplar
from tests.browser.conftest import log_in
from tests.factories import TEST_PASSWORD, CohortFactory, ExemplarFactory, FrameworkFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "another-Strong-passw0rd-2"


def _label(text: str) -> re.Pattern:
    """The label's whole text; required fields add an aria-hidden " *"."""
    return re.compile(rf"^{re.escape(text)}( \*)?$")


# --- 5. Frameworks and exemplars -------------------------------------------------------------


def test_framework_list_and_detail_show_skills_and_exemplars_and_an_admin_adds_one(page):
    framework = FrameworkFactory(name="DEAR MAN (test)")
    ExemplarFactory(framework=framework, skill="describe", label="strong", utterance="For six months I've closed the shop alone.")
    admin = UserFactory(role="admin")
    log_in(page, admin.username, TEST_PASSWORD)

    page.goto("/author/")
    page.get_by_test_id("author-nav-frameworks").click()
    page.wait_for_url("**/author/frameworks/")
    row = page.get_by_test_id("framework-row").filter(has_text=framework.slug)
    # Name, kind, 2 skills, 1 exemplar.
    expect(row.locator("td")).to_have_text([re.compile("DEAR MAN \\(test\\)"), re.compile("."), "2", "1"])
    row.get_by_test_id("framework-link").click()
    page.wait_for_url(f"**/author/frameworks/{framework.slug}/")
    expect(page.get_by_test_id("framework-title")).to_contain_text("DEAR MAN (test)")
    skills = page.get_by_test_id("framework-skills")
    expect(skills.locator("dt")).to_have_text([re.compile(r"^Describe describe · strong, weak, absent$"), re.compile(r"^Assert assert")])
    expect(skills.locator("dd").first).to_have_text("Plain facts.")
    expect(page.get_by_test_id("exemplar-row")).to_have_count(1)
    expect(page.get_by_test_id("exemplar-row")).to_contain_text("For six months I've closed the shop alone.")

    page.get_by_test_id("exemplar-create").click()
    page.wait_for_url(f"**/author/frameworks/{framework.slug}/exemplars/new/")
    # Every field is reachable by its label.
    page.get_by_label(_label("Skill")).select_option("assert")
    page.get_by_label(_label("Label")).select_option("weak")
    page.get_by_label(_label("Utterance")).fill("Maybe, if it's okay, a bit more?")
    page.get_by_label(_label("Rewrite")).fill("I'm asking for 42,000 from April.")
    page.get_by_test_id("exemplar-save").click()

    page.wait_for_url(f"**/author/frameworks/{framework.slug}/")
    expect(page.get_by_role("status")).to_contain_text("Exemplar added.")
    expect(page.get_by_test_id("exemplar-row")).to_have_count(2)
    added = page.get_by_test_id("exemplar-row").filter(has_text="Maybe, if it's okay, a bit more?")
    expect(added.locator("td").nth(0)).to_have_text("assert")
    expect(added.locator("td").nth(1)).to_have_text("weak")
    expect(added).to_contain_text("Rewrite: I'm asking for 42,000 from April.")
    assert framework.exemplars.filter(skill="assert", label="weak").count() == 1
    page.get_by_test_id("author-nav-frameworks").click()
    expect(page.get_by_test_id("framework-row").filter(has_text=framework.slug).locator("td").nth(3)).to_have_text("2")


def test_exemplar_edit_and_delete(page):
    exemplar = ExemplarFactory(utterance="Original words.")
    framework = exemplar.framework
    admin = UserFactory(role="admin")
    log_in(page, admin.username, TEST_PASSWORD)
    page.goto(f"/author/frameworks/{framework.slug}/")
    page.get_by_test_id("exemplar-row").get_by_test_id("exemplar-edit").click()
    page.wait_for_url(f"**/exemplars/{exemplar.pk}/edit/")
    expect(page.get_by_test_id("exemplar-utterance")).to_have_value("Original words.")
    page.get_by_test_id("exemplar-utterance").fill("Edited words.")
    page.get_by_test_id("exemplar-save").click()
    expect(page.get_by_role("status")).to_contain_text("Exemplar saved.")
    expect(page.get_by_test_id("exemplar-row")).to_contain_text("Edited words.")

    # An empty utterance is refused with a plain error.
    page.get_by_test_id("exemplar-row").get_by_test_id("exemplar-edit").click()
    page.get_by_test_id("exemplar-utterance").fill("")
    page.get_by_test_id("exemplar-save").click()
    expect(page.get_by_test_id("error-utterance")).to_have_text("This field is required.")
    page.get_by_role("link", name="Cancel").click()

    page.get_by_role("button", name="Delete exemplar 1").click()
    expect(page.get_by_role("status")).to_contain_text("Exemplar deleted.")
    expect(page.get_by_test_id("exemplar-row")).to_have_count(0)
    assert not Exemplar.objects.filter(pk=exemplar.pk).exists()


# --- 6. Non-admins ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/author/scenarios/", "/author/personas/new/", "/author/packs/import/", "/author/frameworks/", "/health/"])
def test_instructor_sees_the_403_page_on_admin_pages(page, path):
    instructor = UserFactory(role="instructor")
    log_in(page, instructor.username, TEST_PASSWORD)
    expect(page.get_by_test_id("nav-health")).to_have_count(0)
    response = page.goto(path)
    assert response.status == 403
    expect(page.get_by_test_id("forbidden")).to_have_text("You don't have access to this page")
    expect(page.get_by_test_id("author-nav")).to_have_count(0)


# --- 7. Cohorts, health, password ------------------------------------------------------------


def test_instructor_sees_only_their_own_cohorts_and_admin_sees_all(page):
    instructor, other = UserFactory(role="instructor"), UserFactory(role="instructor")
    CohortFactory(name="Tuesday group", owner=instructor, members=[UserFactory(), UserFactory()])
    CohortFactory(name="Friday group", owner=instructor)
    CohortFactory(name="Someone else's group", owner=other, members=[UserFactory()])

    log_in(page, instructor.username, TEST_PASSWORD)
    page.get_by_test_id("nav-cohorts").click()
    page.wait_for_url("**/cohorts/")
    rows = page.get_by_test_id("cohort-row")
    expect(rows).to_have_count(2)
    exams = re.compile("take scenarios as exams")  # the cohort's exam switch (unticked)
    expect(rows.filter(has_text="Tuesday group").locator("td")).to_have_text(["Tuesday group", instructor.username, "2", exams])
    expect(rows.filter(has_text="Friday group").locator("td")).to_have_text(["Friday group", instructor.username, "0", exams])
    expect(page.get_by_test_id("cohort-table")).not_to_contain_text("Someone else's group")

    page.get_by_test_id("logout").click()
    admin = UserFactory(role="admin")
    log_in(page, admin.username, TEST_PASSWORD)
    page.goto("/cohorts/")
    expect(page.get_by_test_id("cohort-row")).to_have_count(3)


def test_admin_health_page_lists_services_and_engines(page):
    admin = UserFactory(role="admin")
    log_in(page, admin.username, TEST_PASSWORD)
    page.get_by_test_id("nav-health").click()
    page.wait_for_url("**/health/")
    expect(page.get_by_test_id("health-status")).to_have_text(re.compile(r"^(ok|unavailable)$"))
    checks = page.get_by_test_id("health-checks").locator("tbody tr td:first-child")
    expect(checks).to_have_text(["database", "broker", "worker", "channel_layer"])
    for engine in ("embeddings", "persona", "asr", "asr_recording", "vad", "assessment"):
        row = page.get_by_test_id(f"engine-{engine}")
        expect(row).to_have_count(1)
        cells = row.locator("td")
        expect(cells.nth(0)).to_have_text(engine)
        expect(cells.nth(1)).not_to_be_empty()  # the backend in use
        expect(cells.nth(3)).to_have_text(re.compile(r"^(ok|down)$"))


def test_password_change_then_log_in_with_the_new_password(page):
    user = UserFactory(role="trainee")
    log_in(page, user.username, TEST_PASSWORD)
    page.get_by_test_id("password-change").click()
    page.wait_for_url("**/accounts/password_change/")

    # A wrong old password is refused in plain words, next to the field.
    page.get_by_label(_label("Old password")).fill("not-my-password")
    page.get_by_label(_label("New password")).fill(NEW_PASSWORD)
    page.get_by_label(_label("New password confirmation")).fill(NEW_PASSWORD)
    page.get_by_test_id("password-change-submit").click()
    expect(page.get_by_test_id("error-old_password")).to_contain_text("Your old password was entered incorrectly")

    page.get_by_label(_label("Old password")).fill(TEST_PASSWORD)
    page.get_by_label(_label("New password")).fill(NEW_PASSWORD)
    page.get_by_label(_label("New password confirmation")).fill(NEW_PASSWORD)
    page.get_by_test_id("password-change-submit").click()
    page.wait_for_url("**/accounts/password_change/done/")
    expect(page.get_by_test_id("password-changed")).to_be_visible()

    page.get_by_test_id("logout").click()
    page.wait_for_url("**/accounts/login/")
    page.get_by_test_id("login-username").fill(user.username)
    page.get_by_test_id("login-password").fill(TEST_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    log_in(page, user.username, NEW_PASSWORD)
    expect(page.get_by_test_id("current-user")).to_contain_text(user.username)


# --- 8. Keyboard -----------------------------------------------------------------------------


def test_login_form_can_be_completed_with_the_keyboard_only(page):
    user = UserFactory(role="instructor")
    page.goto("/accounts/login/")
    # The username field has focus on arrival; Tab moves through the form in reading order.
    expect(page.get_by_test_id("login-username")).to_be_focused()
    page.keyboard.type(user.username)
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("login-password")).to_be_focused()
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("login-submit")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_test_id("login-password")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/")
    expect(page.get_by_test_id("dashboard-instructor")).to_be_visible()
    # Labels name the two fields.
    page.get_by_test_id("logout").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/accounts/login/")
    expect(page.get_by_label("Username")).to_have_attribute("data-testid", "login-username")
    expect(page.get_by_label("Password")).to_have_attribute("data-testid", "login-password")


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(page):
    user = UserFactory(role="admin")
    log_in(page, user.username, TEST_PASSWORD)
    page.goto("/author/scenarios/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    # From main, the next Tab stop is inside the page content, not the header.
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("author-nav-scenarios")).to_be_focused()
