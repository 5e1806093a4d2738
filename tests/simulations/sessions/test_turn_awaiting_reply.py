"""The turn a reply is generated for: the latest trainee turn while it has no reply, found in one query
(asked when the reply job was not handed the turn it claimed, and after a reply when a turn came meanwhile)."""

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


def test_history_and_a_later_trainee_turn_in_one_query():
    from simulations.selectors.sessions import turn_history_for_engine, turn_history_with_later_trainee_turn

    session = session_setup()["session"]
    first = _turn(session, Turn.Speaker.TRAINEE, "Hello.")
    _turn(session, Turn.Speaker.PERSONA, "Hi.", reply_to=first)
    claimed = _turn(session, Turn.Speaker.TRAINEE, "How are you?")
    with CaptureQueriesContext(connection) as queries:
        history, later = turn_history_with_later_trainee_turn(session_id=session.pk, index=claimed.index)
    assert len(queries.captured_queries) == 1
    assert history == turn_history_for_engine(session_id=session.pk, before_index=claimed.index)
    assert [h["text"] for h in history][-2:] == ["Hello.", "Hi."] and later is False

    _turn(session, Turn.Speaker.TRAINEE, "Sorry, one more thing.")  # e.g. a voice turn sent meanwhile
    assert turn_history_with_later_trainee_turn(session_id=session.pk, index=claimed.index) == (history, True)


def test_a_claimed_turn_overtaken_before_its_reply_started_gets_the_reply_to_what_was_said_last(monkeypatch):
    """The reply job is handed the turn it stored and claimed; a trainee turn stored after it
    (a voice turn) is what the persona answers, as ``turn_awaiting_reply`` says, and the claim
    moves to it."""
    from simulations.models import PracticeSession
    from simulations.services.generations import generation_beat
    from simulations.services.persona_replies import persona_reply_generate

    session = session_setup()["session"]
    claimed = _turn(session, Turn.Speaker.TRAINEE, "How have you been sleeping?")
    claimed.meta = {"generation": generation_beat()}
    claimed.save(update_fields=["meta"])
    PracticeSession.objects.filter(pk=session.pk).update(generating_for_turn=claimed)
    later = _turn(session, Turn.Speaker.TRAINEE, "And eating?")
    events = []
    reply = persona_reply_generate(session_id=session.pk, push=events.append, claimed_turn=claimed)
    assert reply is not None and reply.reply_to_id == later.pk
    assert not Turn.objects.filter(reply_to=claimed).exists()
    assert PracticeSession.objects.get(pk=session.pk).generating_for_turn_id is None
    assert [e["kind"] for e in events][0] == "reply-start" and events[-1]["kind"] == "reply-done"


def test_a_reply_to_the_claimed_turn_is_stored_with_it_as_the_latest(monkeypatch):
    from simulations.models import PracticeSession
    from simulations.services.generations import generation_beat
    from simulations.services.persona_replies import persona_reply_generate

    session = session_setup()["session"]
    claimed = _turn(session, Turn.Speaker.TRAINEE, "How have you been sleeping?")
    claimed.meta = {"generation": generation_beat()}
    claimed.save(update_fields=["meta"])
    PracticeSession.objects.filter(pk=session.pk).update(generating_for_turn=claimed)
    with CaptureQueriesContext(connection) as queries:
        reply = persona_reply_generate(session_id=session.pk, push=lambda event: None, claimed_turn=claimed)
    assert reply.reply_to_id == claimed.pk and reply.index == claimed.index + 1
    assert turn_awaiting_reply(session_id=session.pk) is None
    # No query for the turn awaiting a reply, before or after: the claimed turn is handed over.
    assert not [q for q in queries.captured_queries if "EXISTS" in q["sql"].upper() and "reply_to_id" in q["sql"]]
