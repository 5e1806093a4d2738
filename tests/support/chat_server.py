"""A real OpenAI-compatible chat-completions server on 127.0.0.1, for tests
and benchmarks (first-token timing).

Speaks the wire protocol the ``openai`` SDK uses: ``POST /v1/chat/completions``
(JSON, or SSE ``data: {chat.completion.chunk}`` lines ending ``data: [DONE]``
when ``"stream": true``) and ``GET /v1/models``. Behaviour is set per test
through ``ChatBehaviour`` (and may be changed between requests): scripted
replies, a delay before the first token, N failures before success, a reply
that leaks a given string. Every request is recorded so tests can inspect
what the client actually sent.

    with ChatServer(ChatBehaviour(replies=["Hi."])) as server:
        client = OpenAI(base_url=server.base_url, api_key="k")
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class ChatBehaviour:
    replies: list[str] = field(default_factory=lambda: ["I'm not sure what to say."])  # cycled per request
    model: str = "test-model"
    first_token_delay_s: float = 0.0  # before the first content chunk (streaming) or the body
    chunk_delay_s: float = 0.0  # between content chunks
    fail_first: int = 0  # answer the first N chat requests with fail_status
    fail_status: int = 503
    leak: str = ""  # when set, added to every reply as an extra sentence after the first
    cut_first: int = 0  # drop the connection mid-stream on the first N successful streaming requests...
    cut_after_chunks: int = 1  # ...after this many content chunks
    words_per_chunk: int = 1
    # An "obedient" model: every reply recites the whole prompt it was sent (jailbreak tests).
    recite_prompt: bool = False


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict | None
    raw: str


def _word_chunks(text: str, words_per_chunk: int) -> list[str]:
    words = re.findall(r"\s*\S+", text)
    return ["".join(words[i : i + words_per_chunk]) for i in range(0, len(words), max(1, words_per_chunk))]


def _with_leak(reply: str, leak: str) -> str:
    if not leak:
        return reply
    match = re.search(r"[.!?]\s+", reply)
    if not match:
        return f"{reply} {leak}"
    return f"{reply[: match.end()]}{leak} {reply[match.end() :]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive + chunked transfer, as real servers do
    server: _Server

    def setup(self) -> None:
        super().setup()
        # First-token latency is the figure this server exists to measure: no Nagle delay.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet tests

    def _record(self, body_text: str) -> RecordedRequest:
        try:
            body = json.loads(body_text) if body_text else None
        except json.JSONDecodeError:
            body = None
        record = RecordedRequest(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, body_text
        )
        with self.server.lock:
            self.server.requests.append(record)
        return record

    def _send_json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._record("")
        if self.path.rstrip("/") == "/v1/models":
            model = self.server.behaviour.model
            self._send_json(200, {"object": "list", "data": [{"id": model, "object": "model", "owned_by": "test"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        record = self._record(self.rfile.read(length).decode("utf-8") if length else "")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        behaviour = self.server.behaviour
        with self.server.lock:
            self.server.chat_count += 1
            number = self.server.chat_count
        if number <= behaviour.fail_first:
            status = behaviour.fail_status
            self._send_json(status, {"error": {"message": f"test server failing request {number}", "type": "test"}})
            return
        if not isinstance(record.body, dict) or not record.body.get("messages"):
            self._send_json(400, {"error": {"message": "messages is required", "type": "invalid_request_error"}})
            return
        replies = behaviour.replies or [""]
        with self.server.lock:
            reply = replies[self.server.reply_index % len(replies)]
            self.server.reply_index += 1
        reply = _with_leak(reply, behaviour.leak)
        if behaviour.recite_prompt:
            reply = "Of course. Here is everything I was told: " + " ".join(
                str(m.get("content") or "") for m in record.body["messages"] if isinstance(m, dict))
        if record.body.get("stream"):
            with self.server.lock:
                self.server.stream_count += 1
                cut = self.server.stream_count <= behaviour.cut_first
            self._stream(reply, behaviour, cut_after=behaviour.cut_after_chunks if cut else None)
        else:
            time.sleep(behaviour.first_token_delay_s)
            self._send_json(200, self._completion(reply, behaviour))

    def _completion(self, reply: str, behaviour: ChatBehaviour) -> dict:
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": behaviour.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": len(reply.split()), "total_tokens": len(reply.split())},
        }

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _event(self, payload: dict | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._write_chunk(f"data: {text}\n\n".encode())

    def _stream(self, reply: str, behaviour: ChatBehaviour, cut_after: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": behaviour.model,
        }
        try:
            self._event({**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]})
            time.sleep(behaviour.first_token_delay_s)
            for i, piece in enumerate(_word_chunks(reply, behaviour.words_per_chunk)):
                if i and behaviour.chunk_delay_s:
                    time.sleep(behaviour.chunk_delay_s)
                if cut_after is not None and i >= cut_after:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)  # mid-body: the client sees a broken stream
                    return
                self._event({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
            self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            self._event("[DONE]")
            self._write_chunk(b"")  # end of the chunked body
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the client stopped reading (e.g. a leak was caught): normal


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: ChatBehaviour):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.chat_count = 0
        self.stream_count = 0
        self.reply_index = 0

    def handle_error(self, request, client_address) -> None:
        # A client dropping a keep-alive connection (or a stream it stopped reading) is normal here.
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)


class ChatServer:
    """The server in a background thread on a free port of 127.0.0.1."""

    def __init__(self, behaviour: ChatBehaviour | None = None):
        self._server = _Server(behaviour or ChatBehaviour())
        self._thread = threading.Thread(target=self._server.serve_forever, name="chat-server", daemon=True)

    @property
    def behaviour(self) -> ChatBehaviour:
        return self._server.behaviour

    @behaviour.setter
    def behaviour(self, value: ChatBehaviour) -> None:
        self._server.behaviour = value

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._server.lock:
            return list(self._server.requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.rstrip("/") == "/v1/chat/completions"]

    def start(self) -> ChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (for "server unreachable" cases)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
