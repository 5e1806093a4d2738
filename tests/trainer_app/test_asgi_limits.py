"""Oversized request bodies are refused by the ASGI stack before Django reads them."""

import pytest

from trainer_app.asgi_limits import RequestBodyLimit


class _Recorder:
    def __init__(self):
        self.sent = []
        self.app_called = False

    async def app(self, scope, receive, send):
        self.app_called = True
        while True:
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(self, message):
        self.sent.append(message)


def _receiver(chunks):
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive():
        return messages.pop(0)

    return receive


@pytest.mark.parametrize("declared", [b"2000", b"1001"])
async def test_declared_length_over_the_limit_is_refused_unread(declared):
    recorder = _Recorder()
    limited = RequestBodyLimit(recorder.app, max_bytes=1000)
    scope = {"type": "http", "headers": [(b"content-length", declared)]}
    await limited(scope, _receiver([b"x" * 10]), recorder.send)
    assert recorder.sent[0]["status"] == 413 and not recorder.app_called


async def test_chunked_body_is_cut_off_at_the_limit():
    recorder = _Recorder()
    seen = []

    async def app(scope, receive, send):
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break

    limited = RequestBodyLimit(app, max_bytes=1000)
    await limited({"type": "http", "headers": []}, _receiver([b"x" * 600, b"x" * 600, b"x" * 600]), recorder.send)
    assert seen == ["http.request", "http.disconnect"]


async def test_body_within_the_limit_passes():
    recorder = _Recorder()
    limited = RequestBodyLimit(recorder.app, max_bytes=1000)
    await limited({"type": "http", "headers": [(b"content-length", b"10")]}, _receiver([b"x" * 10]), recorder.send)
    assert recorder.sent[0]["status"] == 200


async def test_a_path_with_its_own_limit_takes_a_larger_body_and_others_do_not():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    limited = RequestBodyLimit(app, max_bytes=10, path_limits={"/recordings/upload/": 1000})
    for path, expected in (("/recordings/upload/", 200), ("/practice/", 413)):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"x" * 100, "more_body": False}

        async def send(message, sent=sent):
            sent.append(message)

        scope = {"type": "http", "path": path, "headers": [(b"content-length", b"100")]}
        await limited(scope, receive, send)
        assert sent[0]["status"] == expected, path
    assert seen == ["/recordings/upload/"]
