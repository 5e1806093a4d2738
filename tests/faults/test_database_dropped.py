"""The web process's database connection dropped in the middle of storing a turn: the page
gets a clear error and its text back, nothing of the turn is written (no turn, no feedback
outbox row, no generation claim), and the next message is stored and answered.

The drop is PostgreSQL's own: a trigger on the feedback outbox row, the last INSERT of the
turn's transaction (after the turn's INSERT), terminates the backend that runs it
(pg_terminate_backend), as an administrator or a failover would."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from feedback.models import AssessmentRequest
from simulations.models import PracticeSession, Turn
from simulations.services.reply_runner import UNAVAILABLE_MESSAGE

pytestmark = [pytest.mark.production, pytest.mark.slow]

MARKER = "[drop the connection]"


@pytest.fixture
def connection_dropped_on_marked_turns(app_stack):
    outbox, turns = AssessmentRequest._meta.db_table, Turn._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE OR REPLACE FUNCTION fault_drop_connection() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (SELECT 1 FROM {turns} WHERE id = NEW.turn_id AND position('{MARKER}' in text) > 0) THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER fault_drop_connection AFTER INSERT ON {outbox}
                FOR EACH ROW EXECUTE FUNCTION fault_drop_connection();
        """)  # noqa: S608 - table names from the models, a constant marker
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS fault_drop_connection ON {outbox}; "
                       "DROP FUNCTION IF EXISTS fault_drop_connection();")


def test_connection_dropped_mid_turn_gives_a_clear_error_and_writes_nothing(
    app_stack, practice, connection_dropped_on_marked_turns
):
    session = practice["session"]
    page = practice["open_page"]()
    dropped = page.send_turn(f"I'd like a raise from April. {MARKER}")
    error = page.wait_for("error", client_id=dropped, timeout=30)
    assert error.msg["code"] == "unavailable" and error.msg["message"] == UNAVAILABLE_MESSAGE
    assert "send it again" in error.msg["html"]  # the notice the page shows
    time.sleep(0.5)
    assert page.connected.is_set() and app_stack.alive("web")  # the socket and the process carry on
    assert not Turn.objects.filter(session=session, speaker="trainee").exists()
    assert not AssessmentRequest.objects.exists()
    assert PracticeSession.objects.get(pk=session.pk).generating_for_turn_id is None
    assert not page.received("turn") and not page.received("reply-start")

    # The trainee sends it again (without the marker): the web process has a new connection.
    again = page.send_turn("I'd like a raise from April.")
    turn_id = page.wait_for("turn", client_id=again, timeout=30).data["turn_id"]
    page.wait_for("reply-done", reply_for=turn_id, timeout=30)
    page.wait_for("feedback", turn_id=turn_id, timeout=60)
    assert list(Turn.objects.filter(session=session, speaker="trainee").values_list("pk", flat=True)) == [turn_id]
    assert Turn.objects.filter(reply_to_id=turn_id).count() == 1
    assert AssessmentRequest.objects.get(turn_id=turn_id).status == "done"
    print("database connection dropped mid-turn: error 'unavailable' shown, 0 rows written, next turn answered")
