"""Under the Content-Security-Policy, the pages a trainee uses still work in real Chromium, and
the browser reports no violation (an inline script or handler would be blocked and reported)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_session_browser import _assigned_trainee, _say, _start
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def test_a_session_and_its_debrief_run_with_no_csp_violation(page):
    page.add_init_script(RECORD_VIOLATIONS)
    console = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    trainee, scenario = _assigned_trainee()
    log_in(page, trainee.username, TEST_PASSWORD)
    visited = {}
    _start(page, scenario)  # the websocket connects under connect-src 'self'
    _say(page, "What would you like to talk about today?", replies_before=1)
    visited["session"] = page.evaluate("window.__cspViolations")
    page.get_by_test_id("end-session").click()
    page.wait_for_url("**/debrief/")
    page.get_by_test_id("debrief").wait_for()
    visited["debrief"] = page.evaluate("window.__cspViolations")
    page.goto("/dashboard/")
    visited["dashboard"] = page.evaluate("window.__cspViolations")
    assert visited == {"session": [], "debrief": [], "dashboard": []}
    assert console == []
