"""Replies from an OpenAI-compatible server (tests/support/chat_server.py) through the websocket."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.test import override_settings

from simulations.models import Turn
from simulations.personas.engines.llm import LlmConfig, LlmPersonaEngine, llm_config_from_settings
from simulations.services import persona_replies
from tests.simulations.sessions.helpers import communicator_for, receive_until, session_setup
from tests.support.chat_server import ChatBehaviour, ChatServer, closed_port

pytestmark = pytest.mark.django_db(transaction=True)

REPLY = "I suppose work has been hard lately. I keep thinking I'll get something wrong."


@pytest.fixture
def setup(transactional_db):
    cache.clear()
    return session_setup()


def _persona_texts(session_id):
    return list(Turn.objects.filter(session_id=session_id, speaker="persona", index__gt=0).values_list("text", flat=True))


async def test_llm_reply_streams_token_by_token(setup):
    with ChatServer(ChatBehaviour(replies=[REPLY], chunk_delay_s=0.01)) as server:
        with override_settings(LLM_BASE_URL=server.base_url, LLM_MODEL="test-model", LLM_MAX_RETRIES=0):
            communicator = await communicator_for(setup["trainee"], setup["session"].pk)
            assert (await communicator.connect())[0]
            await communicator.send_json_to({"type": "turn", "text": "What's been on your mind?", "client_id": "llm-1"})
            messages = await receive_until(communicator, "reply-done")
            await communicator.disconnect()
        assert server.chat_requests, "the LLM server was not asked"
    chunks = [m for m in messages if m["kind"] == "reply-chunk"]
    assert len(chunks) >= 2  # streamed, not one block
    assert "".join(c["data"]["text"] for c in chunks).strip() == REPLY
    assert await database_sync_to_async(_persona_texts)(setup["session"].pk) == [REPLY]


async def test_llm_server_down_falls_back_and_the_session_stays_usable(setup):
    # The configured engine falls back to the scripted partner when the server is unreachable.
    with override_settings(LLM_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1", LLM_MODEL="m", LLM_MAX_RETRIES=0):
        communicator = await communicator_for(setup["trainee"], setup["session"].pk)
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"type": "turn", "text": "How are you today?", "client_id": "down-1"})
        messages = await receive_until(communicator, "reply-done")
        await communicator.disconnect()
    assert messages[-1]["data"]["text"]
    assert len(await database_sync_to_async(_persona_texts)(setup["session"].pk)) == 1
    notices = [m for m in messages if m["kind"] == "notice"]
    assert notices and "unreachable" in notices[0]["data"]["message"]  # the trainee is told
    assert notices[0]["data"]["level"] == "warning"


async def test_unreachable_llm_without_fallback_shows_a_clear_message_then_recovers(setup, monkeypatch):
    port = closed_port()
    with override_settings(LLM_BASE_URL=f"http://127.0.0.1:{port}/v1", LLM_MODEL="m", LLM_MAX_RETRIES=0):
        monkeypatch.setattr(
            persona_replies, "persona_engine_for", lambda **kw: LlmPersonaEngine(config=llm_config_from_settings())
        )
        communicator = await communicator_for(setup["trainee"], setup["session"].pk)
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"type": "turn", "text": "How are you today?", "client_id": "down-2"})
        messages = await receive_until(communicator, "notice")
        assert "unreachable right now" in messages[-1]["data"]["message"]
        assert await database_sync_to_async(Turn.objects.filter(speaker="trainee").count)() == 1
        # A server is reachable again; "Try again" regenerates the saved turn's reply.
        with ChatServer(ChatBehaviour(replies=[REPLY])) as live:
            monkeypatch.setattr(
                persona_replies,
                "persona_engine_for",
                lambda **kw: LlmPersonaEngine(config=LlmConfig(base_url=live.base_url, model="m", max_retries=0)),
            )
            await communicator.send_json_to({"type": "retry"})
            done = await receive_until(communicator, "reply-done")
        await communicator.disconnect()
    assert done[-1]["data"]["text"] == REPLY
