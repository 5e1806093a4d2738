"""The turn a reply is generated for: the latest trainee turn while it has no reply, found in one query
(asked twice per turn: before the reply, and after it for a turn sent meanwhile)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from simulations.models import Turn
from simulations.selectors.sessions import turn_awaiting_reply
from tests.simulations.sessions.helpers import session_setup

pytestmark = pytest.mark.django_db


def _turn(session, speaker, text, reply_to=None):
    index = (Turn.objects.filter(session=session).order_by("-index").values_list("index", flat=True).first() or 0) + 1
    return Turn.objects.create(session=session, index=index, speaker=speaker, text=text, reply_to=reply_to)


def test_the_latest_unanswered_trainee_turn_in_one_query():
    session = session_setup()["session"]
    first = _turn(session, Turn.Speaker.TRAINEE, "Hello.")
    with CaptureQueriesContext(connection) as queries:
        assert turn_awaiting_reply(session_id=session.pk) == first
    assert len(queries.captured_queries) == 1

    _turn(session, Turn.Speaker.PERSONA, "Hi.", reply_to=first)
    with CaptureQueriesContext(connection) as queries:
        assert turn_awaiting_reply(session_id=session.pk) is None  # answered
    assert len(queries.captured_queries) == 1


def test_an_overtaken_turn_is_not_answered_and_another_sessions_reply_does_not_count():
    setup, other = session_setup(), session_setup()
    session = setup["session"]
    _turn(session, Turn.Speaker.TRAINEE, "Are you there?")
    second = _turn(session, Turn.Speaker.TRAINEE, "Hello?")
    assert turn_awaiting_reply(session_id=session.pk) == second  # the persona answers what was said last

    other_turn = _turn(other["session"], Turn.Speaker.TRAINEE, "Hi.")
    _turn(other["session"], Turn.Speaker.PERSONA, "Hello.", reply_to=other_turn)
    assert turn_awaiting_reply(session_id=session.pk) == second
    assert turn_awaiting_reply(session_id=other["session"].pk) is None


def test_no_trainee_turn_yet():
    session = session_setup()["session"]
    assert turn_awaiting_reply(session_id=session.pk) is None
