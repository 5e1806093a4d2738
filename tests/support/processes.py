"""Start the app's real processes (the web server, a Celery worker) against the test database, and stop
them as `manage.py serve` does: each leads a process group of its own, and the stop reaches the whole group
(a worker's embedded beat, uvicorn's children), so nothing a test started outlives it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from trainer_app.management.commands.serve import process_start, processes_stop, web_command

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_env(**extra: str) -> dict:
    """Environment for a child process that must see the test database."""
    from django.conf import settings
    from django.db import connection

    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env.pop("DATABASE_URL", None)
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    env["VAR_DIR"] = str(settings.VAR_DIR)
    env["DJANGO_SETTINGS_MODULE"] = "trainer_app.settings"
    env["DJANGO_IGNORE_DOTENV"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("ASR_WARM_ON_START", "0")  # most tests' workers never transcribe; the first clip loads it
    env.update(extra)
    return env


def wait_for_port(port: int, *, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def start_web(*, port: int, log_path: Path, **extra_env: str) -> subprocess.Popen:
    log = log_path.open("ab")
    proc = process_start(
        web_command(host="127.0.0.1", port=port),  # one web process as `make run` starts them
        cwd=REPO, env=process_env(ENGINES_WARM_ON_START="1", **extra_env), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc=proc, timeout=180)  # listening once its engines are warm (ASGI lifespan)
    except Exception:
        stop(proc)  # not left running behind a failed start
        raise
    return proc


def start_worker(
    *, log_path: Path, queues: str = "realtime,speech,analysis", beat: bool = False, name: str = "test",
    **extra_env: str,
) -> subprocess.Popen:
    """``beat``: also run Celery beat in the worker (periodic tasks), as `manage.py serve` does.
    ``name``: the start of its Celery hostname (``<name>-<pid of this test run>@host``); two
    workers running at once need two names."""
    log = log_path.open("ab")
    beat_args = ["--beat", "--schedule", str(log_path.with_suffix(".beat-schedule"))] if beat else []
    return process_start(
        [str(BIN / "celery"), "-A", "trainer_app", "worker", "--pool", "threads", "--concurrency", "4",
         "-Q", queues, "--loglevel", "INFO", "--without-gossip", "--without-mingle",
         "--hostname", f"{name}-{os.getpid()}@%h", *beat_args],
        cwd=REPO, env=process_env(**extra_env), stdout=log, stderr=subprocess.STDOUT,
    )


def wait_for_worker(proc: subprocess.Popen, *, timeout: float = 60.0, name: str = "test", since=None) -> None:
    """A worker is ready once its heartbeat row appears (``since``: one written after that time,
    when a killed worker of the same name may have left its row)."""
    from trainer_app.models import WorkerHeartbeat

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited with {proc.returncode}")
        beats = WorkerHeartbeat.objects.filter(hostname__startswith=f"{name}-{os.getpid()}@")
        if (beats.filter(last_seen__gte=since) if since is not None else beats).exists():
            return
        time.sleep(0.2)
    raise TimeoutError("celery worker did not report a heartbeat")


def stop(proc: subprocess.Popen, *, timeout: float = 15.0) -> None:
    """SIGTERM, then after ``timeout`` SIGKILL of everything left in the process's group."""
    processes_stop([proc], grace_s=timeout)

