"""A page that (re)connects catches up on what was pushed while it was away: a reply that
finished, live feedback (simulations.services.session_catch_up, the consumer's sync probe)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from simulations.models import Turn
from simulations.services.session_catch_up import CATCH_UP_TURNS_MAX, session_catch_up_events
from tests.feedback.live_support import assessment_make, people, session_make, starter_framework_install, turn_add
from tests.simulations.sessions.helpers import communicator_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def away(transactional_db):
    """Two answered trainee turns; the second's reply and feedback were pushed while no page was open."""
    framework = starter_framework_install("dear-man")
    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=["dear-man"])
    first = turn_add(session=session, text="For three months I've covered the late shift.")
    turn_add(session=session, text="Thanks for telling me.", speaker=Turn.Speaker.PERSONA)
    Turn.objects.filter(session=session, index=2).update(reply_to=first)
    second = turn_add(session=session, text="I'd like a raise of two thousand pounds from April.")
    reply = turn_add(session=session, text="That's a big ask.", speaker=Turn.Speaker.PERSONA)
    Turn.objects.filter(pk=reply.pk).update(reply_to=second)
    pushed = assessment_make(turn=second, framework=framework, labels={"assert": "strong"})
    pushed.pushed_at = timezone.now()
    pushed.save(update_fields=["pushed_at"])
    assessment_make(turn=first, framework=framework, labels={"describe": "strong"})  # never pushed: not sent
    return {**p, "session": session, "first": first, "second": second, "reply": reply, "pushed": pushed}


async def _pushes(page, until_kind: str, count: int) -> list[dict]:
    out = []
    while sum(1 for m in out if m.get("kind") == until_kind) < count:
        out.append(await page.receive_json_from(timeout=30))
    return out


async def test_a_page_that_was_away_gets_the_finished_reply_and_the_feedback_it_missed(away):
    page = await communicator_for(away["trainee"], away["session"].pk)
    assert (await page.connect())[0]
    await page.send_json_to({"type": "sync", "after": away["first"].pk})  # it saw the first turn answered
    messages = await _pushes(page, "feedback", 1)
    kinds = [(m["kind"], m["data"]["reply_for" if m["kind"] == "reply-done" else "turn_id"]) for m in messages]
    assert kinds == [("turn", away["first"].pk), ("reply-done", away["first"].pk), ("turn", away["second"].pk),
                     ("reply-done", away["second"].pk), ("feedback", away["second"].pk)]
    feedback = messages[-1]
    assert feedback["data"]["assessments"] == [away["pushed"].pk]
    assert f'data-assessments="{away["pushed"].pk}"' in feedback["html"]  # the page's duplicate check reads it
    assert messages[3]["data"]["text"] == "That's a big ask."
    await page.send_json_to({"type": "sync", "after": 0})  # a second sync within a second is ignored
    assert await page.receive_nothing(timeout=0.5)
    await page.disconnect()


async def test_a_sync_probe_reaches_only_the_page_that_asked(away):
    trainee_page = await communicator_for(away["trainee"], away["session"].pk)
    watcher = await communicator_for(away["instructor"], away["session"].pk)
    assert (await trainee_page.connect())[0] and (await watcher.connect())[0]
    await watcher.send_json_to({"type": "sync", "after": away["second"].pk})  # read-only pages catch up too
    messages = await _pushes(watcher, "feedback", 1)
    assert [m["kind"] for m in messages] == ["turn", "reply-done", "feedback"]
    assert await trainee_page.receive_nothing(timeout=0.5)
    await watcher.disconnect()
    await trainee_page.disconnect()


@pytest.mark.parametrize("after", [-1, "3", 2.5, True, None])
async def test_a_sync_without_a_whole_turn_id_is_refused_clearly(away, after):
    page = await communicator_for(away["trainee"], away["session"].pk)
    assert (await page.connect())[0]
    await page.send_json_to({"type": "sync", "after": after})
    error = await page.receive_json_from(timeout=10)
    assert error["type"] == "error" and error["code"] == "bad-type" and "whole number" in error["message"]
    await page.disconnect()


def test_catch_up_sends_at_most_the_newest_turns(away):
    session = away["session"]
    for i in range(CATCH_UP_TURNS_MAX + 5):
        turn_add(session=session, text=f"Message {i}")
    events = session_catch_up_events(session_id=session.pk, after_turn_id=0)
    turns = [e["data"]["turn_id"] for e in events if e["kind"] == "turn"]
    assert len(turns) == CATCH_UP_TURNS_MAX and turns[-1] == Turn.objects.filter(session=session).order_by("-index")[0].pk
    assert turns == sorted(turns)  # oldest first, as the page shows them
    assert session_catch_up_events(session_id=session.pk, after_turn_id=turns[-1] + 1) == []


async def test_an_outsider_cannot_sync(away):
    page = await communicator_for(away["other_trainee"], away["session"].pk)
    connected, _ = await page.connect()
    assert not connected  # refused at the handshake: no sync, no catch-up
