"""Fixtures of the fault suite: the app's real processes on a private Redis, and a trainee's page.

The processes start once for the folder (``fault_stack``, stopped after it); each test gets them
running (``app_stack`` restarts whatever the previous test left dead) with its data
committed, so every process sees it.
"""

from __future__ import annotations

import json
import os
import shutil
from functools import cache

import pytest
import yaml

from bench.common import login_cookie
from tests.faults.page import Page
from tests.faults.stack import REDIS_SERVER, RedisServer, Stack
from tests.support import processes
from tests.support.chat_server import ChatBehaviour, ChatServer

PERSONA_REPLY = "I hear you. Tell me a little more about what happened at work this week."


@pytest.fixture(scope="package")  # stopped once this folder's tests are done
def fault_stack(django_db_setup, django_db_blocker, tmp_path_factory):
    if not shutil.which(REDIS_SERVER):
        message = f"the fault suite needs redis-server ({REDIS_SERVER}) to start a Redis it may kill"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    logs = tmp_path_factory.mktemp("fault-processes")
    persona_llm = ChatServer(ChatBehaviour(replies=[PERSONA_REPLY])).start()
    assessor_llm = ChatServer(ChatBehaviour()).start()
    stack = Stack(logs=logs, redis=RedisServer(port=processes.free_port(), log_path=logs / "redis.log"),
                  persona_llm=persona_llm, assessor_llm=assessor_llm)
    try:
        with django_db_blocker.unblock():
            from tests.feedback.live_support import starter_framework_install

            # Installed before the feedback worker starts, so it builds its assessor while the web
            # process warms up, instead of during the first test (the first test's data is flushed).
            starter_framework_install("dear-man")
            stack.redis.start()
            stack.ensure_up()
        yield stack
    finally:
        stack.stop()
        persona_llm.stop()
        assessor_llm.stop()


@pytest.fixture
def app_stack(transactional_db, fault_stack) -> Stack:
    fault_stack.ensure_up()  # what an earlier test killed
    fault_stack.persona_llm.behaviour = ChatBehaviour(replies=[PERSONA_REPLY])
    fault_stack.assessor_llm.behaviour = ChatBehaviour(replies=[assessor_reply("dear-man")])
    return fault_stack




@cache
def _starter_skills(slug: str) -> tuple[str, ...]:
    from tests.feedback.live_support import STARTER

    frameworks = {f["slug"]: f for f in yaml.safe_load(STARTER.read_text())["frameworks"]}
    return tuple(s["slug"] for s in frameworks[slug]["skills"])


def assessor_reply(slug: str) -> str:
    """A valid assessment of any utterance for the starter framework ``slug``, as the LLM answers."""
    items = [
        {"skill": skill, "label": "absent", "confidence": 0.7, "evidence": "", "suggestion": f"Try {skill}.", "rewrite": ""}
        for skill in _starter_skills(slug)
    ]
    return json.dumps({"items": items, "feedback": "Keep going."})


@pytest.fixture
def practice(app_stack):
    """A trainee's live-feedback session on a DEAR MAN scenario, and a function opening their page."""
    from feedback.models import Framework
    from simulations.services.sessions import practice_session_start
    from tests.factories import CohortFactory, ScenarioFactory, UserFactory
    from tests.feedback.live_support import starter_framework_install
    from trainer_app.privacy.consent import consent_give

    if not Framework.objects.filter(slug="dear-man").exists():
        starter_framework_install("dear-man")
    trainee = UserFactory(role="trainee")
    cohort = CohortFactory(members=[trainee])
    scenario = ScenarioFactory(frameworks=["dear-man"], cohorts=[cohort])
    session = practice_session_start(user=trainee, scenario=scenario)
    consent_give(user=trainee, kind="voice_turns")
    cookie = login_cookie(trainee)
    pages: list[Page] = []

    def open_page() -> Page:
        page = Page(base_url=app_stack.url, session_id=session.pk, cookie=cookie).open()
        pages.append(page)
        return page

    yield {"session": session, "trainee": trainee, "cookie": cookie, "open_page": open_page}
    for page in pages:
        page.close()
