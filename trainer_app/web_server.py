"""One web process: uvicorn serving the ASGI app on a listening socket of its own.

`manage.py serve` starts ``WEB_WORKERS`` of these on one port. Why not uvicorn's own
``--workers``: there every process accepts from one shared socket and whichever wakes
first takes the connection, and a websocket stays for its whole session where it
landed: in the production load test one of two processes took three quarters of 300
sessions (0.59 core against 0.19) and refused turns while the other idled. Here each
process binds its own socket with ``SO_REUSEPORT`` and the kernel spreads new
connections over the processes' sockets evenly (by a hash of their addresses).

The socket is bound before the app loads but listens only once the ASGI lifespan
start-up (engine warm-up) is done, so no connection waits on a process that is still
warming while another serves.

    python -m trainer_app.web_server --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import argparse
import socket

APP = "trainer_app.asgi:application"


def _tcp_socket(*, host: str, port: int) -> tuple[socket.socket, tuple]:
    """An unbound TCP socket for ``host:port`` (IPv4 or IPv6, as the host resolves) with SO_REUSEADDR, and
    the address to bind."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock, address


def reuse_port_socket(*, host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` in a ``SO_REUSEPORT`` group (not listening yet)."""
    sock, address = _tcp_socket(host=host, port=port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def port_in_use(*, host: str, port: int) -> bool:
    """Is anything listening on ``host:port``? A bind without ``SO_REUSEPORT`` fails beside any
    listening socket, a reuse-port group included (e.g. a previous run's web process still alive,
    which would otherwise silently share this run's connections); ``SO_REUSEADDR`` lets it pass
    the connections of a stopped run still in TIME_WAIT."""
    probe, address = _tcp_socket(host=host, port=port)
    with probe:
        try:
            probe.bind(address)
        except OSError:
            return True
    return False


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout-graceful-shutdown", type=int, default=10,
                        help="seconds a stopping process waits for open sockets before closing them")
    args = parser.parse_args(argv)
    sock = reuse_port_socket(host=args.host, port=args.port)
    config = uvicorn.Config(
        APP, ws="websockets",
        # No per-message deflate: a streamed reply's frames are tens of bytes, and compressing each one
        # cost the event loop more than it saved on the wire.
        ws_per_message_deflate=False,
        lifespan="on", access_log=False, log_level="warning", timeout_graceful_shutdown=args.timeout_graceful_shutdown,
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
