"""The web process SIGKILLed while it streams a reply: the page reconnects to the new web
process, the reply is regenerated and completes; no trainee turn is lost, stored twice or
answered twice. "Mid-generation" is known: the loopback LLM sends a word every 0.3 s and
the page has received some of them when the process is killed."""

from __future__ import annotations

import time

import pytest

from simulations.models import PracticeSession, Turn
from tests.faults.conftest import PERSONA_REPLY
from tests.support.chat_server import ChatBehaviour

pytestmark = [pytest.mark.production, pytest.mark.slow]

# Short sentences: the persona engine checks and sends a reply sentence by sentence.
SLOW_REPLY = (
    "That sounds like a hard week. I can see why you are tired. I want to understand it. "
    "Tell me about the late shifts. Who else was there with you? How long did they last? "
    "Did anyone thank you for it? What would you change first?"
)


def test_web_killed_mid_reply_regenerates_it_once_after_the_page_reconnects(app_stack, practice):
    stack, session = app_stack, practice["session"]
    stack.persona_llm.behaviour = ChatBehaviour(replies=[SLOW_REPLY], chunk_delay_s=0.3)
    page = practice["open_page"]()
    text = "I have been covering the late shift twice a week for three months."
    client_id = page.send_turn(text)
    turn_id = page.wait_for("turn", client_id=client_id, timeout=30).data["turn_id"]
    wait = time.time() + 30
    while len(page.received("reply-chunk", reply_for=turn_id)) < 3 and time.time() < wait:  # ~3 s of ~14 s
        time.sleep(0.05)
    assert len(page.received("reply-chunk", reply_for=turn_id)) >= 3, "the reply never started streaming"

    stack.kill("web")
    killed = time.time()
    assert not page.received("reply-done", reply_for=turn_id), "the reply finished before the kill"
    assert PracticeSession.objects.get(pk=session.pk).generating_for_turn_id == turn_id  # a dead claim
    assert not Turn.objects.filter(reply_to_id=turn_id).exists()

    stack.start("web")  # same port: the page's reconnect loop finds it
    page.connected.wait(30)
    # The page resends the same turn, as a browser does that never saw its echo: stored once.
    page.send_raw({"type": "turn", "text": text, "client_id": client_id})
    done = page.wait_for("reply-done", reply_for=turn_id, timeout=60)
    recovered_s = time.time() - killed
    time.sleep(1)

    assert done.data["text"].startswith("That sounds like a hard week.")  # the whole reply, from the start
    assert Turn.objects.filter(session=session, speaker="trainee").count() == 1
    replies = list(Turn.objects.filter(reply_to_id=turn_id))
    assert len(replies) == 1 and replies[0].text == done.data["text"]
    assert len(page.received("reply-done", reply_for=turn_id)) == 1
    assert PracticeSession.objects.get(pk=session.pk).generating_for_turn_id is None

    # The conversation goes on in the new process.
    stack.persona_llm.behaviour = ChatBehaviour(replies=[PERSONA_REPLY])
    second = page.send_turn("Mostly on my own, which is the problem.")
    second_id = page.wait_for("turn", client_id=second, timeout=30).data["turn_id"]
    page.wait_for("reply-done", reply_for=second_id, timeout=30)
    assert Turn.objects.filter(session=session, speaker="trainee").count() == 2
    assert Turn.objects.filter(session=session, speaker="persona", reply_to__isnull=False).count() == 2
    print(f"web killed mid-reply: reply regenerated once, done {recovered_s:.1f} s after the kill")
