"""The web process's database connection dropped in the middle of a write:

- storing a turn (websocket): the page gets a clear error and its text back, nothing of the turn
  is written (no turn, no feedback outbox row, no generation claim), and the next message is
  stored and answered;
- a plain form POST (an instructor's correction on the review page): the 503 page, nothing of
  the review written (the earlier correction stays in force), and the next POST is saved.

The drop is PostgreSQL's own: a trigger on the last INSERT of the transaction (the feedback
outbox row after the turn's INSERT; the exemplar after the review's INSERT) terminates the
backend that runs it (pg_terminate_backend), as an administrator or a failover would."""

from __future__ import annotations

import contextlib
import time

import pytest
from django.db import connection
from django.urls import reverse

from bench.common import login_cookie
from feedback.models import AssessmentRequest, Exemplar, Review
from simulations.models import PracticeSession, Turn
from simulations.services.reply_runner import UNAVAILABLE_MESSAGE
from tests.faults.page import form_post

pytestmark = [pytest.mark.production, pytest.mark.slow]

MARKER = "[drop the connection]"


@contextlib.contextmanager
def _connection_dropped_when(*, name: str, table: str, condition: str):
    """A trigger AFTER INSERT ON ``table`` that terminates the inserting backend when ``condition``
    (SQL over NEW) holds; removed afterwards."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF {condition} THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER {name} AFTER INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {name}();
        """)  # noqa: S608 - names from the models and this module, a constant marker
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}();")


@pytest.fixture
def connection_dropped_on_marked_turns(app_stack):
    turns = Turn._meta.db_table
    with _connection_dropped_when(
        name="fault_drop_connection", table=AssessmentRequest._meta.db_table,
        condition=f"EXISTS (SELECT 1 FROM {turns} WHERE id = NEW.turn_id AND position('{MARKER}' in text) > 0)",  # noqa: S608
    ):
        yield


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


@pytest.fixture
def connection_dropped_on_marked_exemplars(app_stack):
    with _connection_dropped_when(name="fault_drop_connection_exemplar", table=Exemplar._meta.db_table,
                                  condition=f"position('{MARKER}' in NEW.feedback) > 0"):
        yield


def test_connection_dropped_mid_form_post_gives_the_503_page_and_writes_nothing(
    app_stack, connection_dropped_on_marked_exemplars
):
    from tests.factories import FrameworkFactory
    from tests.feedback.live_support import assessment_make, people, session_make, turn_add

    who = people()
    framework = FrameworkFactory()
    session = session_make(trainee=who["trainee"], framework_slugs=[framework.slug], status="ended")
    turn = turn_add(session=session, text="You never listen and I want more money.")
    item = assessment_make(turn=turn, framework=framework, labels={"assert": "absent"}).items.get()
    path = reverse("feedback:review_item", args=[session.pk, item.pk])
    cookie = login_cookie(who["instructor"])

    def correct(label: str, text: str) -> tuple[int, dict, str]:
        fields = {"verdict": "disagree", "corrected_label": label, "corrected_text": text, "corrected_rewrite": ""}
        return form_post(base_url=app_stack.url, path=path, cookie=cookie, fields=fields)

    status, _, _ = correct("weak", "Say what you want first.")
    assert status == 302
    earlier = Exemplar.objects.get(source=Exemplar.Source.CORRECTION)

    web_log = app_stack.log_size("web")
    started = time.time()
    status, headers, body = correct("strong", f"A clear ask. {MARKER}")
    answered_s = time.time() - started
    assert status == 503, body[-2000:]
    assert headers.get("retry-after") == "5" and 'data-testid="service-unavailable"' in body
    assert "<script" not in body  # the page needs nothing the CSP would block
    assert app_stack.alive("web")
    # Nothing of it: no second review, the earlier exemplar not deleted, no new one.
    assert list(Review.objects.filter(item=item).values_list("corrected_label", flat=True)) == ["weak"]
    assert list(Exemplar.objects.filter(source=Exemplar.Source.CORRECTION)) == [earlier]
    log = app_stack.log_since("web", web_log)
    assert "Traceback" not in log and "web request: service unavailable" in log, log[-3000:]

    # The instructor sends it again (without the marker): the web process has a new connection.
    status, _, _ = correct("strong", "A clear ask.")
    assert status == 302
    assert list(Review.objects.filter(item=item).order_by("pk").values_list("corrected_label", flat=True)) == [
        "weak", "strong"]
    assert Exemplar.objects.get(source=Exemplar.Source.CORRECTION).label == "strong"
    print(f"database connection dropped mid-form-post: 503 page in {answered_s:.2f} s, 0 rows written, "
          "earlier correction kept, next post saved")
