"""Refuse oversized HTTP request bodies before they are read.

Django's ASGI handler spools a whole body to disk before any form can check
its size, so without this a client could fill the disk with one upload. The
cap sits above the largest legitimate upload (a voice clip or a pack)."""

from __future__ import annotations


class RequestBodyLimit:
    def __init__(self, app, *, max_bytes: int, path_limits: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        # Exact paths that take larger bodies (the recording upload); everything else keeps max_bytes.
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.path_limits.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._refuse(send, limit=limit)
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Chunked bodies have no length up front: stop reading here.
                    return {"type": "http.disconnect"}
            return message

        return await self.app(scope, counted_receive, send)

    async def _refuse(self, send, *, limit: int) -> None:
        body = f"Request body too large (limit {limit // (1024 * 1024)} MiB).".encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
