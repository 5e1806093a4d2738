"""Instructor analytics in real Chromium: cohort dashboard, filters, trainee profile, session review
comment, CSV export matching the page; the trainee then reads the comment in the debrief."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.browser.conftest import log_in
from tests.factories import FrameworkFactory
from tests.support.cohort_data import PASSWORD, cohort_generate

pytestmark = pytest.mark.browser


def test_instructor_follows_a_cohort_down_to_a_turn_and_the_trainee_reads_the_comment(page, browser, live_app):
    # Two frameworks, so filtering by framework changes what the page shows.
    other = FrameworkFactory(name="Another framework")
    framework = FrameworkFactory(name="Asking framework")
    gen = cohort_generate(framework=framework, trainees=3, sessions=3, turns=2, seed=3, name="brw", reviews_every=4)
    trainee_name = "brw-t001"

    log_in(page, gen.instructor.username, PASSWORD)
    page.goto("/cohorts/")
    page.get_by_test_id("cohort-link").filter(has_text=gen.cohort.name).click()
    page.get_by_test_id("cohort-dashboard").wait_for()
    page.get_by_test_id("filter-framework").select_option(other.slug)
    page.get_by_test_id("filter-apply").click()
    page.wait_for_url(f"**framework={other.slug}**")
    assert page.locator("[data-testid=heat-cell] strong").count() == 0  # nobody practised that framework
    page.get_by_test_id("filter-framework").select_option(framework.slug)
    page.get_by_test_id("filter-apply").click()
    page.wait_for_url(f"**framework={framework.slug}**")

    heatmap = page.get_by_test_id("heatmap")
    assert heatmap.get_by_test_id("heat-row").count() == 3
    cells = {(r.get_attribute("data-trainee"), c.get_attribute("data-skill")): c.get_attribute("data-latest")
             for r in heatmap.get_by_test_id("heat-row").all() for c in r.get_by_test_id("heat-cell").all()}
    assert all(v != "" for v in cells.values()) and len(cells) == 3 * 2
    trajectory = page.get_by_test_id("trajectory").first
    assert trajectory.get_by_test_id("trajectory-chart").is_visible()
    assert int(trajectory.get_by_test_id("trajectory-chart").get_attribute("data-lines")) == 4  # 3 trainees + median

    # The CSV's rows are the page's cells.
    with page.expect_download() as download_info:
        page.get_by_test_id("export-heatmap").click()
    rows = list(csv.DictReader(Path(download_info.value.path()).read_text(encoding="utf-8").splitlines()))
    assert {(r["trainee"], r["skill"]): str(float(r["latest"])) for r in rows} == {k: str(float(v)) for k, v in cells.items()}

    # A trainee, then one of their sessions, then a comment on a turn.
    page.get_by_test_id("trainee-link").filter(has_text=trainee_name).click()
    page.get_by_test_id("trainee-profile").wait_for()
    assert page.get_by_test_id("profile-trajectory").count() == 2
    assert page.get_by_test_id("profile-session").count() == 3
    page.get_by_test_id("session-review-link").first.click()
    page.get_by_test_id("review").wait_for()
    session_id = int(page.url.rstrip("/").split("/")[-1])
    turn = page.get_by_test_id("review-turn").first
    turn.get_by_test_id("comment-text").fill("Lead with what you want, then the reason.")
    turn.get_by_test_id("comment-save").click()
    turn.get_by_test_id("turn-comment").filter(has_text="Lead with what you want").wait_for()

    trainee_context = browser.new_context(base_url=live_app)
    trainee_page = trainee_context.new_page()
    try:
        log_in(trainee_page, trainee_name, PASSWORD)
        trainee_page.goto(f"/practice/sessions/{session_id}/debrief/")
        comment = trainee_page.get_by_test_id("debrief-comment").first
        assert "Lead with what you want, then the reason." in comment.inner_text()
        assert "Lead with what you want" in trainee_page.get_by_test_id("debrief-comments").inner_text()
        # The trainee may not open the cohort dashboard.
        response = trainee_page.goto(f"/cohorts/{gen.cohort.pk}/")
        assert response.status == 403
    finally:
        trainee_context.close()


def test_report_prints_without_controls_and_admin_overview_shows_engine_health(page, browser, live_app):
    from tests.factories import TEST_PASSWORD, UserFactory

    framework = FrameworkFactory(name="Report framework")
    gen = cohort_generate(framework=framework, trainees=2, sessions=2, turns=2, seed=5, name="rpt")
    log_in(page, gen.instructor.username, PASSWORD)
    page.goto(f"/cohorts/{gen.cohort.pk}/report/?framework={framework.slug}")
    page.get_by_test_id("cohort-report").wait_for()
    page.emulate_media(media="print")
    assert not page.get_by_test_id("report-print").is_visible()  # controls hidden in print
    assert page.get_by_test_id("trajectory-table").first.is_visible()  # data tables printed
    assert page.get_by_test_id("heat-row").count() == 2
    page.emulate_media(media="screen")

    admin = UserFactory(role="admin")
    admin_context = browser.new_context(base_url=live_app)
    admin_page = admin_context.new_page()
    try:
        log_in(admin_page, admin.username, TEST_PASSWORD)
        admin_page.get_by_test_id("nav-overview").click()
        admin_page.get_by_test_id("admin-overview").wait_for()
        assert admin_page.get_by_test_id("fallback-chart").is_visible()
        assert admin_page.get_by_test_id("overview-day").count() >= 30
    finally:
        admin_context.close()
