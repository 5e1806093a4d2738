"""Each role logs in and sees its dashboard; a trainee is refused an instructor page."""

import pytest

from tests.browser.conftest import log_in
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("role", ["trainee", "instructor", "admin"])
def test_role_logs_in_and_sees_dashboard(page, role):
    user = UserFactory(role=role)
    log_in(page, user.username, TEST_PASSWORD)
    assert page.get_by_test_id(f"dashboard-{role}").is_visible()
    assert page.get_by_test_id("current-role").text_content() == role


def test_trainee_is_refused_an_instructor_page(page):
    user = UserFactory(role="trainee")
    log_in(page, user.username, TEST_PASSWORD)
    response = page.goto("/cohorts/")
    assert response.status == 403
    assert page.get_by_test_id("forbidden").is_visible()


def test_wrong_password_shows_an_error(page):
    user = UserFactory(role="trainee")
    page.goto("/accounts/login/")
    page.get_by_test_id("login-username").fill(user.username)
    page.get_by_test_id("login-password").fill("not-the-password")
    page.get_by_test_id("login-submit").click()
    assert page.get_by_test_id("login-error").is_visible()


def test_healthz_is_up_with_the_worker_running(page):
    # The test database was just flushed; the worker's next heartbeat (1 s here) restores its row.
    for _ in range(50):
        response = page.goto("/healthz")
        if response.status == 200:
            break
        page.wait_for_timeout(200)
    assert response.status == 200, response.text()
    assert response.json()["checks"]["worker"]["ok"] is True
