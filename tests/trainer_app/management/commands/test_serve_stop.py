"""`manage.py serve`'s stop reaches every process its children started (real processes, no mocks).

Found by bench/prod_ws.py: uvicorn's parent did not stop within the grace period under load, serve
killed it alone, and its two worker processes ran on, orphaned, holding PostgreSQL connections."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from trainer_app.management.commands.serve import process_start, processes_stop

# A parent that starts a child (as uvicorn starts its workers) and writes the child's pid. Both ignore
# SIGTERM when told to: a server stuck in its graceful shutdown.
_TREE = """
import os, signal, subprocess, sys, time
pid_file, parent_ignores, child_ignores = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
child_code = "import signal, time\\n" + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n" if child_ignores else "") + "time.sleep(120)"
if parent_ignores:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", child_code])
with open(pid_file + ".tmp", "w") as f:
    f.write(str(child.pid))
os.replace(pid_file + ".tmp", pid_file)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _start_tree(tmp_path: Path, *, parent_ignores: bool, child_ignores: bool):
    pid_file = tmp_path / "child.pid"
    proc = process_start([sys.executable, "-c", _TREE, str(pid_file), str(int(parent_ignores)), str(int(child_ignores))])
    deadline = time.monotonic() + 20
    while not pid_file.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the test's process tree did not start"
        time.sleep(0.05)
    return proc, int(pid_file.read_text())


@pytest.mark.parametrize("child_ignores", [True, False])
def test_a_parent_stuck_in_its_shutdown_is_killed_with_its_children(tmp_path, child_ignores):
    proc, child = _start_tree(tmp_path, parent_ignores=True, child_ignores=child_ignores)
    try:
        t0 = time.monotonic()
        processes_stop([proc], grace_s=1.0)
        assert proc.returncode is not None and time.monotonic() - t0 < 10
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the parent was killed but its child runs on, orphaned"
    finally:
        for pid in (proc.pid, child):
            if _alive(pid):
                psutil.Process(pid).kill()


def test_a_parent_that_stops_without_its_child_leaves_nothing_running(tmp_path):
    # The parent stops at SIGTERM at once but its child does not: the group sweep after the grace period.
    proc, child = _start_tree(tmp_path, parent_ignores=False, child_ignores=True)
    try:
        processes_stop([proc], grace_s=1.0)
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        if _alive(child):
            psutil.Process(child).kill()


def test_processes_are_started_as_leaders_of_their_own_group(tmp_path):
    proc, child = _start_tree(tmp_path, parent_ignores=False, child_ignores=False)
    try:
        assert os.getpgid(proc.pid) == proc.pid != os.getpgid(0)
        assert os.getpgid(child) == proc.pid
    finally:
        processes_stop([proc], grace_s=1.0)
        if _alive(child):
            psutil.Process(child).kill()
