"""The loopback chat server speaks the protocol the real SDK expects (it is
also used by benchmarks, so its non-streaming and models routes matter too)."""

from __future__ import annotations

import openai
import pytest

from tests.support.chat_server import ChatBehaviour


def test_non_streaming_completion_and_models(chat_server):
    chat_server.behaviour = ChatBehaviour(replies=["First.", "Second."], model="tiny")
    client = openai.OpenAI(base_url=chat_server.base_url, api_key="k", max_retries=0)
    assert [m.id for m in client.models.list().data] == ["tiny"]
    messages = [{"role": "user", "content": "hi"}]
    first = client.chat.completions.create(model="tiny", messages=messages)
    second = client.chat.completions.create(model="tiny", messages=messages)
    assert (first.choices[0].message.content, second.choices[0].message.content) == ("First.", "Second.")
    assert first.choices[0].finish_reason == "stop"
    assert [r.method for r in chat_server.requests] == ["GET", "POST", "POST"]


def test_streaming_chunks_and_failures(chat_server):
    chat_server.behaviour = ChatBehaviour(replies=["One two three."], fail_first=1, fail_status=503, words_per_chunk=2)
    client = openai.OpenAI(base_url=chat_server.base_url, api_key="k", max_retries=0)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
    stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert pieces == ["One two", " three."]


def test_missing_messages_is_a_400(chat_server):
    client = openai.OpenAI(base_url=chat_server.base_url, api_key="k", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="m", messages=[])
