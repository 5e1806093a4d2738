from __future__ import annotations

import pytest

from tests.support.chat_server import ChatBehaviour, ChatServer


@pytest.fixture
def chat_server():
    """A real OpenAI-compatible server on 127.0.0.1 (random port), in a thread."""
    server = ChatServer(ChatBehaviour()).start()
    try:
        yield server
    finally:
        server.stop()
