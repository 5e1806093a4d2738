"""Shared helpers for session tests: sessions from factories and websocket clients."""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from simulations.services.sessions import practice_session_start
from tests.factories import CohortFactory, ScenarioFactory, UserFactory
from trainer_app.asgi import application

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def session_setup():
    """A trainee with a started session, the instructor owning their cohort, and an outsider."""
    trainee = UserFactory(role="trainee")
    cohort = CohortFactory(members=[trainee])
    scenario = ScenarioFactory(cohorts=[cohort])
    session = practice_session_start(user=trainee, scenario=scenario)
    return {
        "trainee": trainee,
        "instructor": cohort.owner,
        "outsider": UserFactory(role="trainee"),
        "scenario": scenario,
        "session": session,
    }


async def communicator_for(user, session_id: int, *, origin=ORIGIN) -> WebsocketCommunicator:
    headers = [origin] if origin else []
    if user is not None:
        client = Client()
        await database_sync_to_async(client.force_login)(user)
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, f"/ws/practice/{session_id}/", headers=headers)


async def receive_until(communicator, kind: str, *, timeout: float = 30.0) -> list[dict]:
    """Messages received up to and including the first push of ``kind`` (or an error)."""
    messages = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"no {kind!r} within {timeout} s; got {[m.get('kind') or m.get('code') for m in messages]}"
        message = await communicator.receive_json_from(timeout=left)
        messages.append(message)
        if message.get("kind") == kind or (kind == "error" and message.get("type") == "error"):
            return messages
