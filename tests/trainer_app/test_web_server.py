"""Web processes on one port: each its own SO_REUSEPORT socket, so the kernel spreads connections
evenly (uvicorn's shared socket let one of two processes take 3/4 of 300 websocket sessions)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support.processes import free_port
from trainer_app.management.commands.serve import WebProcesses, processes_stop
from trainer_app.web_server import port_in_use, reuse_port_socket


def test_connections_are_spread_over_the_processes_sockets():
    port = free_port()
    sockets = [reuse_port_socket(host="127.0.0.1", port=port) for _ in range(2)]
    clients = []
    try:
        for sock in sockets:
            sock.listen(512)
            sock.setblocking(False)
        for _ in range(200):
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        accepted = []
        for sock in sockets:
            count = 0
            while True:
                try:
                    conn, _ = sock.accept()
                except BlockingIOError:
                    break
                conn.close()
                count += 1
            accepted.append(count)
        assert sum(accepted) == 200
        assert min(accepted) >= 60, accepted  # even within chance: each gets ~100 (a shared socket gave 75/25 %)
    finally:
        for c in clients:
            c.close()
        for sock in sockets:
            sock.close()


def test_a_port_served_by_a_reuse_port_socket_counts_as_in_use():
    port = free_port()
    assert not port_in_use(host="127.0.0.1", port=port)
    sock = reuse_port_socket(host="127.0.0.1", port=port)
    sock.listen(8)  # a web process of an earlier run, still serving
    try:
        assert port_in_use(host="127.0.0.1", port=port)
    finally:
        sock.close()
    assert not port_in_use(host="127.0.0.1", port=port)


def test_serve_refuses_a_port_in_use_before_starting_anything(monkeypatch):
    started = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **kw: started.append(a))
    port = free_port()
    with socket.socket() as held:
        held.bind(("127.0.0.1", port))
        held.listen(1)
        with pytest.raises(CommandError, match=f"127.0.0.1:{port} is in use"):
            call_command("serve", "--port", str(port))
    assert started == []


def test_a_web_process_that_exits_is_started_again_but_not_one_that_keeps_failing():
    webs = WebProcesses(command=[sys.executable, "-c", "import time; time.sleep(60)"], env=None, count=2)
    try:
        first = webs.procs[0]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert webs.keep_up()
        assert webs.procs[0] is not first and webs.procs[0].poll() is None and webs.procs[1].poll() is None
    finally:
        processes_stop(webs.procs, grace_s=5)
    failing = WebProcesses(command=[sys.executable, "-c", "raise SystemExit(3)"], env=None, count=1)
    try:
        results = []
        for _ in range(WebProcesses.QUICK_EXITS_MAX):
            failing.procs[0].wait(timeout=10)
            results.append(failing.keep_up())
        assert results == [True] * (WebProcesses.QUICK_EXITS_MAX - 1) + [False]
    finally:
        processes_stop(failing.procs, grace_s=5)
