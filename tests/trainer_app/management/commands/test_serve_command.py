"""`manage.py serve` (what `make run` starts): the web server and two workers, feedback at a lower CPU priority."""

from __future__ import annotations

import signal
import subprocess

import pytest
from django.core.management import call_command

from trainer_app.management.commands.serve import STOP_GRACE_S


class _FinishedProcess:
    def __init__(self, args, **kwargs):
        self.args, self.kwargs, self.returncode = args, kwargs, 0
        self.pid = 2**22 + 1000 + len(started)  # above Linux's largest pid: the stop's group sweep finds nothing
        started.append(self)

    def poll(self):
        return 0

    def wait(self, timeout=None):
        return 0

    # subprocess.run (the embedding export, run to completion before anything starts) uses these
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def communicate(self, input=None, timeout=None):  # noqa: A002 - subprocess's own name
        return None, None


started: list[_FinishedProcess] = []


@pytest.fixture
def launched(monkeypatch):
    started.clear()
    monkeypatch.setattr(subprocess, "Popen", _FinishedProcess)
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # keep pytest's own Ctrl-C handling
    return started


def _queues(process) -> str:
    return process.args[process.args.index("-Q") + 1]


def test_starts_web_a_speech_worker_and_a_lower_priority_feedback_worker(launched, monkeypatch):
    monkeypatch.delenv("WORKER_NICE", raising=False)
    call_command("serve", "--port", "8765")
    workers = [p for p in launched if "celery" in p.args[0] and "worker" in p.args]
    beat = [p for p in launched if "celery" in p.args[0] and "--beat" in p.args]
    assert len(beat) == 1  # one beat sends the periodic tasks (feedback sweep, retention purge)
    web = [p for p in launched if "trainer_app.web_server" in p.args or "daphne" in p.args[0]]
    # WEB_WORKERS (2) web processes, each on its own socket of the port (trainer_app/web_server.py)
    assert len(web) == 2 and all(p.kwargs["env"]["ENGINES_WARM_ON_START"] == "1" for p in web)
    by_queue = {_queues(p): p for p in workers}
    assert set(by_queue) == {"realtime,analysis", "speech"}
    assert by_queue["realtime,analysis"].kwargs.get("preexec_fn") is not None  # niced
    assert by_queue["speech"].kwargs.get("preexec_fn") is None  # voice turns keep the web's priority
    speech = by_queue["speech"].args
    # a recording's diarization and ASR take two threads side by side; a voice turn still finds the third
    assert speech[speech.index("--concurrency") + 1] == "3"
    hostnames = {p.args[p.args.index("--hostname") + 1] for p in workers}
    assert len(hostnames) == 2
    # the embedding export runs first, in a process of its own (the web process never loads PyTorch)
    assert "export_embeddings" in launched[0].args and launched.index(web[0]) > 0
    # each long-running process leads a process group of its own: stopping serve stops all it started
    assert all(p.kwargs.get("process_group") == 0 for p in [*workers, *web])
    # uvicorn closes what is still open and runs its lifespan shutdown before serve's SIGKILL would
    if "trainer_app.web_server" in web[0].args:
        args = web[0].args
        assert int(args[args.index("--timeout-graceful-shutdown") + 1]) < STOP_GRACE_S


def test_worker_nice_zero_and_the_normal_policy_keep_equal_priority(launched, monkeypatch):
    monkeypatch.setenv("WORKER_NICE", "0")
    monkeypatch.setenv("WORKER_SCHED_POLICY", "normal")
    call_command("serve", "--port", "8765")
    assert all(p.kwargs.get("preexec_fn") is None for p in launched)


def _run_in_child(fn) -> tuple[int, int]:
    """Run a pre-exec function in a forked child; return the child's (nice, scheduling policy)."""
    import os

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            fn()
            os.write(write, f"{os.nice(0)} {os.sched_getscheduler(0)}".encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    nice, policy = os.read(read, 100).decode().split()
    os.close(read)
    return int(nice), int(policy)


def test_the_feedback_worker_can_run_only_on_a_cpu_nothing_else_wants():
    import os

    from django.core.management.base import CommandError

    from trainer_app.management.commands.serve import worker_priority_lowering

    base = os.nice(0)
    assert worker_priority_lowering(nice=0, policy="normal") is None
    assert _run_in_child(worker_priority_lowering(nice=10, policy="normal")) == (min(19, base + 10), os.SCHED_OTHER)
    assert _run_in_child(worker_priority_lowering(nice=10, policy="idle")) == (min(19, base + 10), os.SCHED_IDLE)
    assert _run_in_child(worker_priority_lowering(nice=0, policy="idle"))[1] == os.SCHED_IDLE
    with pytest.raises(CommandError, match="WORKER_SCHED_POLICY"):
        worker_priority_lowering(nice=10, policy="background")


def test_the_sched_policy_reaches_the_feedback_worker_only(launched, monkeypatch):
    monkeypatch.setenv("WORKER_NICE", "0")
    monkeypatch.setenv("WORKER_SCHED_POLICY", "idle")
    call_command("serve", "--port", "8765")
    lowered = [p for p in launched if p.kwargs.get("preexec_fn") is not None]
    assert len(lowered) == 1 and _queues(lowered[0]) == "realtime,analysis"


def test_daphne_runs_as_one_web_process_whatever_web_workers_says(launched, monkeypatch):
    monkeypatch.setenv("WEB_SERVER", "daphne")
    monkeypatch.setenv("WEB_WORKERS", "3")
    call_command("serve", "--port", "8765")
    assert len([p for p in launched if "daphne" in p.args[0]]) == 1
    monkeypatch.setenv("WEB_SERVER", "uvicorn")
    launched.clear()
    call_command("serve", "--port", "8765")
    assert len([p for p in launched if "trainer_app.web_server" in p.args]) == 3
