"""A real web process (the ASGI server `make run` starts, engines warmed before it serves) answers a
conversation turn without ever importing PyTorch, transformers, sentence-transformers or scikit-learn, and stays
under 500 MB resident: its embeddings run on ONNX Runtime."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import psutil
import pytest
from django.conf import settings
from django.test import Client

from simulations.models import Turn
from tests.simulations.sessions.helpers import session_setup
from tests.support import processes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

WATCHED = "torch,transformers,sentence_transformers,sklearn"
RSS_LIMIT_MB = 500


async def _one_turn(*, port: int, session_id: int, cookie: str, text: str) -> list[dict]:
    from websockets.asyncio.client import connect

    pushes = []
    async with connect(f"ws://127.0.0.1:{port}/ws/practice/{session_id}/", origin=f"http://127.0.0.1:{port}",
                       additional_headers={"Cookie": cookie}, open_timeout=30) as ws:
        await ws.send(json.dumps({"type": "turn", "text": text, "client_id": "footprint-1"}))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=deadline - time.monotonic()))
            pushes.append(message)
            assert message.get("type") != "error", message
            if message.get("kind") == "reply-done":
                return pushes
    raise AssertionError(f"no reply-done within 90 s; got {[m.get('kind') for m in pushes]}")


def test_the_web_process_serves_a_turn_without_pytorch_under_500_mb(process_logs):
    data = session_setup()
    client = Client()
    client.force_login(data["trainee"])
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    log = process_logs / "web-footprint.log"
    port = processes.free_port()
    web = processes.start_web(port=port, log_path=log, IMPORT_WATCH=WATCHED)
    try:
        server = psutil.Process(web.pid)
        assert server.children() == []  # one uvicorn process: this pid is the process that serves
        asyncio.run(_one_turn(port=port, session_id=data["session"].pk, cookie=cookie,
                              text="It sounds like this week has been really hard for you."))
        maps = Path(f"/proc/{web.pid}/maps").read_text()
        rss_mb = server.memory_info().rss / 2**20
    finally:
        processes.stop(web)
    output = log.read_text(errors="replace")
    assert "import watch:" not in output, output[output.find("import watch:"):][:3000]
    assert "libtorch" not in maps
    assert "onnxruntime" in maps  # it did embed, in this process, on ONNX Runtime
    assert Turn.objects.filter(session=data["session"], speaker=Turn.Speaker.PERSONA, reply_to__isnull=False).exists()
    assert rss_mb < RSS_LIMIT_MB, f"web process resident {rss_mb:.0f} MB"
