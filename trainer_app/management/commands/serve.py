"""Start the web server and a Celery worker together; Ctrl-C stops both."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from trainer_app.web_server import port_in_use

# How long the processes get to stop on their own (SIGTERM) before what is left of them is killed, and
# how long of that uvicorn waits for open websockets before closing them.
STOP_GRACE_S = 15.0
WEB_STOP_GRACE_S = 10


def web_command(*, host: str, port: int) -> list[str]:
    """One web process's command line; serve starts WEB_WORKERS of them on one port, and tests start one."""
    if os.environ.get("WEB_SERVER", "uvicorn") == "daphne":
        bin_dir = os.path.dirname(sys.executable)
        return [os.path.join(bin_dir, "daphne"), "-b", host, "-p", str(port), "trainer_app.asgi:application"]
    # One Python process is held to one core by the GIL; several web processes share the port (each its
    # own SO_REUSEPORT socket: trainer_app/web_server.py says why) so the web tier can use every core. The
    # lifespan start-up warms the engines before a process serves (trainer_app/asgi.py). A stopping
    # process waits WEB_STOP_GRACE_S for open sockets and requests, then closes them and runs the
    # lifespan shutdown itself, before serve's SIGKILL (STOP_GRACE_S) would cut it short.
    return [sys.executable, "-m", "trainer_app.web_server", "--host", host, "--port", str(port),
            "--timeout-graceful-shutdown", str(WEB_STOP_GRACE_S)]


def web_process_count() -> int:
    """WEB_WORKERS web processes; daphne is one process (it has no shared-port mode: a second would fail
    to bind and serve would stop)."""
    if os.environ.get("WEB_SERVER", "uvicorn") == "daphne":
        return 1
    return int(os.environ.get("WEB_WORKERS", "2"))


def process_start(args: list[str], **kwargs) -> subprocess.Popen:
    """Start ``args`` as the leader of a process group of its own, so that stopping it reaches every
    process it started (uvicorn's worker processes, Celery beat) and no other."""
    return subprocess.Popen(args, process_group=0, **kwargs)  # noqa: S603


def processes_stop(procs: list[subprocess.Popen], *, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM each process (it stops its own children, as on Ctrl-C); after ``grace_s`` SIGKILL
    every process still in its group.

    Why the group: under load (bench/prod_ws.py) uvicorn's parent did not stop within the grace
    period; killing it alone left both its worker processes running, orphaned, holding their
    PostgreSQL connections. Each group is swept even when its leader stopped in time: a leader
    that exits early (crashed, killed) leaves its children behind the same way. A group's id stays
    reserved while any member lives; an empty group's id could only be reached again by a new group
    leader given the same pid in the moments since, which the sweep accepts."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
    for p in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=5)


def worker_priority_lowering(*, nice: int, policy: str) -> Callable[[], None] | None:
    """What the feedback worker runs before it starts: a nice value (still a share of a busy CPU), and with
    policy "idle" Linux's SCHED_IDLE too (it runs only on a CPU nothing else wants; None: web priority)."""
    if policy not in ("normal", "idle"):
        raise CommandError(f"WORKER_SCHED_POLICY must be 'normal' or 'idle', not {policy!r}")
    if nice <= 0 and policy == "normal":
        return None

    def lower() -> None:
        if nice > 0:
            os.nice(nice)
        if policy == "idle":
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))

    return lower


class WebProcesses:
    """``count`` web processes on one port; one that exits is started again (its sessions' pages
    reconnect to the others meanwhile), unless it keeps exiting right after its start."""

    QUICK_EXIT_S = 30.0  # an exit this soon after a start counts as a failing start
    QUICK_EXITS_MAX = 3

    def __init__(self, *, command: list[str], env: dict, count: int):
        self.command, self.env = command, env
        self.procs = [process_start(command, env=env) for _ in range(max(1, count))]
        self.started_at = [time.monotonic()] * len(self.procs)
        self.quick_exits = 0

    def keep_up(self) -> bool:
        """Restart what exited; False once starts keep failing (serve then stops everything)."""
        for i, proc in enumerate(self.procs):
            if proc.poll() is None:
                continue
            quick = time.monotonic() - self.started_at[i] < self.QUICK_EXIT_S
            self.quick_exits = self.quick_exits + 1 if quick else 0
            if self.quick_exits >= self.QUICK_EXITS_MAX:
                return False
            processes_stop([proc])  # whatever it left in its group
            self.procs[i] = process_start(self.command, env=self.env)
            self.started_at[i] = time.monotonic()
        return True


class Command(BaseCommand):
    help = "Run the ASGI web server (HTTP + websockets) and Celery workers: speech, and live feedback + analysis."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--worker-concurrency", type=int, default=int(os.environ.get("WORKER_CONCURRENCY", "4")))

    def handle(self, *args, host: str, port: int, worker_concurrency: int, **options):
        if port_in_use(host=host, port=port):
            raise CommandError(f"{host}:{port} is in use (another server, or a web process of an earlier run still "
                               "alive); stop it or choose another port (PORT=...)")
        bin_dir = os.path.dirname(sys.executable)
        # The ONNX export of the embedding model is made here, in its own process, before the web and the
        # workers start: they load it with ONNX Runtime, and the web process never loads PyTorch.
        exported = subprocess.run([sys.executable, str(settings.BASE_DIR / "manage.py"), "export_embeddings"],  # noqa: S603
                                  check=False)
        if exported.returncode != 0:
            self.stderr.write("embedding export failed; the processes will say why on /healthz")
        web = web_command(host=host, port=port)
        web_env = {**os.environ, "ENGINES_WARM_ON_START": "1"}
        # Two workers, threads sharing one copy of each loaded model. Speech (voice turns: transcription,
        # then the persona's reply) is part of the conversation and runs at the web's priority. Live
        # feedback and analysis run at a lower CPU priority, so on a busy machine they wait and the
        # conversation does not (measured: 100 sessions on 2 cores, reply p95 ~900 ms when feedback
        # shared the web's priority, ~75 ms at nice 10). A nice value still takes a share of a busy
        # CPU; Linux's SCHED_IDLE (WORKER_SCHED_POLICY=idle, the default) takes none, and capacity went
        # from 50 to 75 turns/s (docs/performance.md, session 9). They still get every idle cycle, and
        # what waits is durable (the outbox and its sweep). WORKER_NICE=0 WORKER_SCHED_POLICY=normal
        # gives them the same priority.
        def worker(queues: str, name: str, concurrency: int, *extra: str) -> list[str]:
            return [
                os.path.join(bin_dir, "celery"), "-A", "trainer_app", "worker", "--pool", "threads",
                "--concurrency", str(concurrency), "-Q", queues, "--hostname", f"{name}@%h",
                "--loglevel", "INFO", "--without-gossip", "--without-mingle", *extra,
            ]

        # The feedback worker also runs Celery beat (the periodic live-feedback sweep, settings.CELERY_BEAT_SCHEDULE).
        beat = ["--beat", "--schedule", str(settings.VAR_DIR / "celerybeat-schedule")]

        lower = worker_priority_lowering(nice=int(os.environ.get("WORKER_NICE", "10")),
                                         policy=os.environ.get("WORKER_SCHED_POLICY", "idle"))
        procs = [
            process_start(worker("realtime,analysis", "feedback", worker_concurrency, *beat), preexec_fn=lower),  # noqa: PLW1509
            # Three threads: a recording's diarization and ASR stages run side by side (two threads), and a
            # voice turn still finds a free one instead of waiting behind them.
            process_start(worker("speech", "speech", 3)),
        ]
        webs = WebProcesses(command=web, env=web_env, count=web_process_count())
        self.stdout.write(f"Skill trainer running at http://{host}:{port}  (runtime: "
                          f"{'production' if settings.PRODUCTION else 'embedded'}; Ctrl-C stops web and workers)")
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(p.poll() is None for p in procs) and webs.keep_up():
                time.sleep(0.5)
        finally:
            # Each process leads its own group, so Ctrl-C at a terminal reaches only this command: it
            # stops them here, in order, and nothing they started outlives it.
            processes_stop([*procs, *webs.procs])
        failed = [p.args[0] for p in [*procs, *webs.procs]
                  if p.returncode not in (0, -signal.SIGTERM, None) and not stopping]
        if failed:
            self.stderr.write(f"stopped because a process exited: {', '.join(failed)}")
            sys.exit(1)
