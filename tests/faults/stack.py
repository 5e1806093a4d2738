"""The app as `make run` starts it, on a Redis of its own, for the fault tests to break.

One private ``redis-server`` (no persistence: a restart loses everything, as a
crashed cache node does) serves as the Celery broker and the channel layer of
every process started here: the web server (uvicorn, one process), a feedback
worker (realtime + analysis queues, with Celery beat) and a speech worker
(speech queue), as ``manage.py serve`` splits them. The web's persona and the
feedback worker's assessor each talk to a loopback chat server whose timing the
tests set, which is how a test knows a process is in the middle of its work.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone

from tests.support import processes
from tests.support.chat_server import ChatServer

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

# Short leases and sweeps, so that a recovery the product makes within its (longer) defaults
# happens within seconds here. Every process gets the same values.
FAST_RECOVERY_ENV = {
    "LIVE_ASSESS_LEASE_S": "3",
    "LIVE_FEEDBACK_SWEEP_S": "1",
    "LIVE_FEEDBACK_STALE_S": "3",
    "VOICE_CLIP_LEASE_S": "3",
    "VOICE_CLIP_SWEEP_S": "1",
    "WORKER_HEARTBEAT_SECONDS": "1",
    "CHAT_RATE_LIMIT_PER_MINUTE": "1000",
    "LIVE_FEEDBACK_DELAY_S": "0",
}


class RedisServer:
    """A private redis-server on a fixed port, killed and restarted on that same port."""

    def __init__(self, *, port: int, log_path: Path):
        self.port, self.log_path = port, log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        processes.wait_for_port(self.port, proc=self.proc, timeout=10)

    def kill(self) -> None:
        """SIGKILL: clients see their connections reset; everything it held is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        deadline = time.time() + 10
        while time.time() < deadline:  # nothing listening any more
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            processes.stop(self.proc, timeout=5)


@dataclass
class Stack:
    """Processes of one test run; a test kills what it breaks and ``ensure_up`` restores it."""

    logs: Path
    redis: RedisServer
    persona_llm: ChatServer  # the web's persona engine
    assessor_llm: ChatServer  # the feedback worker's assessor
    port: int = field(default_factory=processes.free_port)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        return {"REDIS_URL": self.redis.url, **FAST_RECOVERY_ENV}

    def _log(self, name: str) -> Path:
        self.starts[name] = self.starts.get(name, 0) + 1
        return self.logs / f"{name}-{self.starts[name]}.log"

    def start(self, name: str) -> subprocess.Popen:
        return self.start_many([name])[name]

    def start_many(self, names: list[str]) -> dict[str, subprocess.Popen]:
        """Start the named processes at once (each warms its models meanwhile); return once all serve."""
        since = timezone.now()
        launched = {}
        try:
            for name in [n for n in names if n != "web"]:  # workers first: they do not block
                launched[name] = self._launch_worker(name)
            if "web" in names:  # blocks until it listens, i.e. until it is warm (ASGI lifespan)
                launched["web"] = processes.start_web(
                    port=self.port, log_path=self._log("web"), **self._env(),
                    LLM_BASE_URL=self.persona_llm.base_url, LLM_MODEL="test-model", LLM_MAX_RETRIES="0",
                    ASSESSMENT_LLM_ENABLED="0",
                )
            for name, proc in launched.items():
                if name != "web":
                    processes.wait_for_worker(proc, name=f"fault-{name}", since=since, timeout=120)
        except Exception:
            for proc in launched.values():
                processes.stop(proc)
            raise
        self.procs.update(launched)
        return launched

    def _launch_worker(self, name: str) -> subprocess.Popen:
        if name == "feedback":
            return processes.start_worker(
                log_path=self._log(name), queues="realtime,analysis", beat=True, name="fault-feedback",
                **self._env(), LLM_BASE_URL=self.assessor_llm.base_url, LLM_MODEL="test-model",
                ASSESSMENT_LLM_ENABLED="1", ASSESSMENT_LLM_RETRIES="0", LLM_TIMEOUT_S="30",
            )
        if name == "speech":  # the scripted persona answers voice turns (no LLM configured here)
            # A replacement loads the recognizer as it starts, as production's workers do; the first one
            # loads it with its first clip (most tests never speak).
            warm_asr = "1" if self.starts.get(name) else "0"
            return processes.start_worker(log_path=self._log(name), queues="speech", name="fault-speech",
                                          **self._env(), ASR_WARM_ON_START=warm_asr)
        raise ValueError(name)

    def kill(self, name: str) -> int:
        """SIGKILL the process and its children at once (no cleanup of any kind runs), as a crashed
        host or container would; its pid. (Its children: the feedback worker's embedded Celery beat
        is a child process that outlives a SIGKILL of the worker alone and keeps sending.)"""
        import psutil

        proc = self.procs[name]
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        proc.wait(timeout=10)
        psutil.wait_procs(children, timeout=10)
        return proc.pid

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def ensure_up(self) -> None:
        if not self.redis.alive():
            self.redis.start()
        dead = [name for name in ("feedback", "speech", "web") if not self.alive(name)]
        if dead:
            self.start_many(dead)

    def stop(self) -> None:
        for proc in self.procs.values():
            processes.stop(proc)
        self.redis.stop()

    def log_size(self, name: str) -> int:
        """Where the process's current log ends now; ``log_since`` reads what it wrote after that."""
        path = self.logs / f"{name}-{self.starts.get(name, 1)}.log"
        return path.stat().st_size if path.exists() else 0

    def log_since(self, name: str, offset: int) -> str:
        path = self.logs / f"{name}-{self.starts.get(name, 1)}.log"
        with path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def log_tail(self, name: str, chars: int = 4000) -> str:
        path = self.logs / f"{name}-{self.starts.get(name, 1)}.log"
        with contextlib.suppress(OSError):
            return path.read_text(errors="replace")[-chars:]
        return ""
