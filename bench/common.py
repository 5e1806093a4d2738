"""Shared pieces of the bench: statistics, the app under test (started as
`make run` does, in its own temporary VAR_DIR), Django in the bench process,
logged-in websocket / HTTP clients."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PY = str(BIN / "python")


# --- statistics -----------------------------------------------------------------
def pct(values: list[float], q: float) -> float | None:
    """Percentile with linear interpolation (numpy's default), None when empty."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    k = (len(vals) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (k - lo)


def summary(values: list[float], nd: int = 1) -> dict:
    vals = [v for v in values if v is not None]
    r = lambda v: None if v is None else round(v, nd)  # noqa: E731
    return {"n": len(vals), "p50": r(pct(vals, 50)), "p95": r(pct(vals, 95)), "max": r(max(vals) if vals else None),
            "mean": r(sum(vals) / len(vals) if vals else None)}


def figure(*, value, baseline, baseline_is: str, target: str, unit: str, n: int, met: bool | None = None, **detail) -> dict:
    if met is None and value is not None:
        op, _, num = target.partition(" ")
        limit = float(num)
        met = {"<=": value <= limit, "<": value < limit, ">=": value >= limit, "==": value == limit}[op]
    out = {"value": value, "baseline": baseline, "baseline_is": baseline_is, "target": target,
           "met": bool(met) if met is not None else False, "unit": unit, "n": n}
    out.update(detail)
    return out


# --- Django in the bench process ---------------------------------------------------
def django_setup(var_dir: Path, **env: str) -> None:
    """Point this process at the app's VAR_DIR (before django.setup())."""
    os.environ["VAR_DIR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "trainer_app.settings"
    os.environ["DJANGO_IGNORE_DOTENV"] = "1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.update(env)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import django

    django.setup()


def process_tree_cpu_s(roots: list) -> dict[tuple, float]:
    """CPU seconds (user + system) of these psutil processes and their children, by (pid, start time)
    (a process that exits meanwhile is skipped; one started since counts from zero in a later call)."""
    import psutil

    out: dict[tuple, float] = {}
    for root in roots:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                out[(proc.pid, proc.create_time())] = times.user + times.system
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the app under test ----------------------------------------------------------------
class App:
    """migrate, load starter packs, then `manage.py serve` (daphne + a Celery worker)
    on a free port, in a fresh temporary VAR_DIR, as `make run` does."""

    def __init__(self, *, name: str, env: dict | None = None, keep: bool = False):
        self.var_dir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        self.port = free_port()
        self.keep = keep
        self.env = {
            **os.environ,
            "VAR_DIR": str(self.var_dir),
            "DJANGO_SETTINGS_MODULE": "trainer_app.settings",
            "DJANGO_IGNORE_DOTENV": "1",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.web_workers = int(self.env.get("WEB_WORKERS", "2"))  # as manage.py serve reads it
        self.proc: subprocess.Popen | None = None
        self.log_path = self.var_dir / "serve.log"
        self.timings: dict[str, float] = {}

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        t0 = time.perf_counter()
        for args in (["migrate", "--noinput", "-v", "0"], ["load_starter_packs"]):
            subprocess.run([PY, "manage.py", *args], cwd=REPO, env=self.env, check=True,  # noqa: S603
                           stdout=subprocess.DEVNULL)
        self.timings["prepare_s"] = round(time.perf_counter() - t0, 2)

    def start(self, *, timeout: float = float(os.environ.get("BENCH_START_TIMEOUT_S", "300"))) -> None:
        t0 = time.perf_counter()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603
            [PY, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:  # daphne listening
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}; log: {self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                break
            time.sleep(0.2)
        else:
            raise TimeoutError(f"daphne not listening after {timeout} s; log: {self.log_tail()}")
        self.timings["web_listening_s"] = round(time.perf_counter() - t0, 2)
        from trainer_app.models import WorkerHeartbeat

        while time.time() < deadline:  # worker up (heartbeat row) and its assessors built
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}; log: {self.log_tail()}")
            log = self.log_text()
            # Every web process logs its own warm-up: waiting for the first only let the load start while the
            # other process still embedded every persona's lines (half the CPU, and its figures with it).
            if WorkerHeartbeat.objects.exists() and "feedback assessors warm" in log and (
                log.count("persona indexes warm") >= self.web_workers
                or time.time() > deadline - timeout / 2  # web without that warm-up
            ):
                break
            time.sleep(0.25)
        else:
            raise TimeoutError(f"worker not ready after {timeout} s; log: {self.log_tail()}")
        self.timings["ready_s"] = round(time.perf_counter() - t0, 2)
        self.timings["web_persona_warm_logged"] = self.log_text().count("persona indexes warm")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n: int = 3000) -> str:
        return self.log_text()[-n:]

    def processes(self) -> dict:
        """{"web": [psutil.Process], "worker": [psutil.Process, ...]} among serve's children
        (the workers: speech, and live feedback + analysis)."""
        import psutil

        out: dict[str, list] = {}
        for child in psutil.Process(self.proc.pid).children():
            cmd = " ".join(child.cmdline())
            if "daphne" in cmd or "uvicorn" in cmd or "trainer_app.web_server" in cmd:
                out.setdefault("web", []).append(child)
            elif "celery" in cmd:
                out.setdefault("worker", []).append(child)
        return out

    def rss_mb(self) -> dict:
        import psutil

        out = {}
        for name, roots in self.processes().items():
            procs = [p for root in roots for p in [root, *root.children(recursive=True)]]
            total = 0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            out[name] = round(total / 2**20, 1)
            out[f"{name}_processes"] = len(procs)
        return out

    def web_processes(self) -> list[dict]:
        """Each process of the web tier that serves (serve's web processes; the worker processes of a
        server that forks its own): pid, resident MB, and whether PyTorch / ONNX Runtime are mapped."""
        import psutil

        roots = self.processes().get("web", [])
        serving = [child for root in roots for child in root.children(recursive=True)] or roots
        out = []
        for proc in serving:
            try:
                if "resource_tracker" in " ".join(proc.cmdline()):  # multiprocessing's helper, not a web process
                    continue
                rss = proc.memory_info().rss
                maps = Path(f"/proc/{proc.pid}/maps").read_text(errors="replace")
            except (psutil.Error, OSError):
                continue
            out.append({"pid": proc.pid, "rss_mb": round(rss / 2**20, 1), "torch_loaded": "libtorch" in maps,
                        "onnxruntime_loaded": "onnxruntime" in maps})
        return out

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # serve stops daphne and the worker
            try:
                self.proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # our own session only
                self.proc.wait(timeout=5)
        if not self.keep:
            shutil.rmtree(self.var_dir, ignore_errors=True)


# --- users, sessions, log-in ------------------------------------------------------------
def trainee_create(username: str):
    from django.contrib.auth import get_user_model

    from trainer_app.roles import TRAINEE, user_role_set

    user = get_user_model().objects.create_user(username=username)  # unusable password: no slow hashing
    user_role_set(user=user, role=TRAINEE)
    return user


def login_cookie(user) -> str:
    """A Django session for the user, as the login view would leave it; returns the cookie header value."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def session_start(user, scenario_slug: str):
    from simulations.models import Scenario
    from simulations.services.sessions import practice_session_start

    return practice_session_start(user=user, scenario=Scenario.objects.get(slug=scenario_slug))


def now_ms() -> float:
    return time.perf_counter() * 1000.0


class WsClient:
    """One logged-in page on ws/practice/<id>/: records every push with its arrival time."""

    def __init__(self, *, app: App, session_id: int, cookie: str):
        self.app, self.session_id, self.cookie = app, session_id, cookie
        self.ws = None
        self.sent: dict[str, float] = {}  # client_id -> send time (ms)
        self.turn_ids: dict[str, int] = {}  # client_id -> stored trainee turn id
        self.first_chunk: dict[int, float] = {}  # trainee turn id -> first reply-chunk arrival
        self.reply_done: dict[int, float] = {}
        self.feedback: dict[int, float] = {}
        self.transcripts: dict[int, float] = {}  # clip id -> arrival
        self.transcript_turns: dict[int, int] = {}  # clip id -> turn id
        self.errors: list[dict] = []
        self.notices: list[dict] = []
        self.closed: str | None = None
        self._reader = None

    async def connect(self) -> None:
        import asyncio

        from websockets.asyncio.client import connect

        self.ws = await connect(
            f"ws://127.0.0.1:{self.app.port}/ws/practice/{self.session_id}/",
            origin=self.app.origin, additional_headers={"Cookie": self.cookie},
            open_timeout=30, ping_interval=None, max_size=2**22,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                t = now_ms()
                msg = json.loads(raw)
                if msg.get("type") == "error":
                    self.errors.append({"code": msg.get("code"), "message": msg.get("message"), "client_id": msg.get("client_id")})
                    continue
                kind, data = msg.get("kind"), msg.get("data") or {}
                if kind == "turn":
                    self.turn_ids[data.get("client_id", "")] = data.get("turn_id")
                elif kind == "reply-chunk":
                    self.first_chunk.setdefault(data.get("reply_for"), t)
                elif kind == "reply-done":
                    self.reply_done.setdefault(data.get("reply_for"), t)
                elif kind == "feedback":
                    self.feedback.setdefault(data.get("turn_id"), t)
                elif kind == "transcript":
                    clip = data.get("clip_id")
                    self.transcripts.setdefault(clip, t)
                    self.transcript_turns[clip] = data.get("turn_id")
                elif kind == "notice":
                    self.notices.append(data)
        except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
            self.closed = f"{type(exc).__name__}: {exc}"
            return
        self.closed = self.closed or "closed"

    async def send_turn(self, text: str, client_id: str) -> None:
        self.sent[client_id] = now_ms()
        await self.ws.send(json.dumps({"type": "turn", "text": text, "client_id": client_id}))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._reader:
            with contextlib.suppress(Exception):
                await self._reader


def http_post_multipart(*, app: App, path: str, cookie: str, fields: dict, files: dict, timeout: float = 60) -> tuple[int, bytes]:
    """POST multipart/form-data with the session cookie and a CSRF token (cookie + header) and Origin."""
    import http.client

    csrf = secrets.token_hex(16)  # 32 characters: an unmasked CSRF secret
    boundary = "bench" + secrets.token_hex(12)
    body = bytearray()
    for name, value in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for name, (filename, content_type, data) in files.items():
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n").encode()
        body += data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=timeout)
    try:
        conn.request("POST", path, body=bytes(body), headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Cookie": f"{cookie}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "Origin": app.origin,
            "Referer": app.origin + "/",
        })
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def machine_info() -> dict:
    import platform

    import psutil

    return {"cores": os.cpu_count(), "load_avg": [round(x, 2) for x in os.getloadavg()],
            "mem_total_mb": round(psutil.virtual_memory().total / 2**20), "python": platform.python_version(),
            "platform": platform.platform()}
