"""Start the web server and a Celery worker together; Ctrl-C stops both."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def web_command(*, host: str, port: int, workers: int = 2) -> list[str]:
    """The ASGI server command line; tests start the web tier with it too."""
    bin_dir = os.path.dirname(sys.executable)
    if os.environ.get("WEB_SERVER", "uvicorn") == "daphne":
        return [os.path.join(bin_dir, "daphne"), "-b", host, "-p", str(port), "trainer_app.asgi:application"]
    # One Python process is held to one core by the GIL; several uvicorn worker
    # processes share the port so the web tier can use every core. The lifespan
    # start-up warms the engines before a process serves (trainer_app/asgi.py).
    # No per-message deflate: a streamed reply's frames are tens of bytes, and
    # compressing each one cost the event loop more than it saved on the wire.
    return [
        os.path.join(bin_dir, "uvicorn"), "trainer_app.asgi:application", "--host", host, "--port", str(port),
        "--workers", str(workers), "--ws", "websockets", "--ws-per-message-deflate", "false",
        "--lifespan", "on", "--no-access-log", "--log-level", "warning",
    ]


class Command(BaseCommand):
    help = "Run the ASGI web server (HTTP + websockets) and Celery workers: speech, and live feedback + analysis."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--worker-concurrency", type=int, default=int(os.environ.get("WORKER_CONCURRENCY", "4")))

    def handle(self, *args, host: str, port: int, worker_concurrency: int, **options):
        bin_dir = os.path.dirname(sys.executable)
        # The ONNX export of the embedding model is made here, in its own process, before the web and the
        # workers start: they load it with ONNX Runtime, and the web process never loads PyTorch.
        exported = subprocess.run([sys.executable, str(settings.BASE_DIR / "manage.py"), "export_embeddings"],  # noqa: S603
                                  check=False)
        if exported.returncode != 0:
            self.stderr.write("embedding export failed; the processes will say why on /healthz")
        web = web_command(host=host, port=port, workers=int(os.environ.get("WEB_WORKERS", "2")))
        # Two workers, threads sharing one copy of each loaded model. Speech (voice turns: transcription,
        # then the persona's reply) is part of the conversation and runs at the web's priority. Live
        # feedback and analysis run at a lower CPU priority, so on a busy machine they wait and the
        # conversation does not (measured: 100 sessions on 2 cores, reply p95 ~900 ms when feedback
        # shared the web's priority, ~75 ms at nice 10). They still get every idle cycle.
        # WORKER_NICE=0 gives them the same priority.
        def worker(queues: str, name: str, concurrency: int, *extra: str) -> list[str]:
            return [
                os.path.join(bin_dir, "celery"), "-A", "trainer_app", "worker", "--pool", "threads",
                "--concurrency", str(concurrency), "-Q", queues, "--hostname", f"{name}@%h",
                "--loglevel", "INFO", "--without-gossip", "--without-mingle", *extra,
            ]

        # The feedback worker also runs Celery beat (the periodic live-feedback sweep, settings.CELERY_BEAT_SCHEDULE).
        beat = ["--beat", "--schedule", str(settings.VAR_DIR / "celerybeat-schedule")]

        nice = int(os.environ.get("WORKER_NICE", "10"))
        lower = (lambda: os.nice(nice)) if nice > 0 else None
        procs = [
            subprocess.Popen(worker("realtime,analysis", "feedback", worker_concurrency, *beat), preexec_fn=lower),  # noqa: S603, PLW1509
            # Three threads: a recording's diarization and ASR stages run side by side (two threads), and a
            # voice turn still finds a free one instead of waiting behind them.
            subprocess.Popen(worker("speech", "speech", 3)),  # noqa: S603
            subprocess.Popen(web, env={**os.environ, "ENGINES_WARM_ON_START": "1"}),  # noqa: S603
        ]
        self.stdout.write(f"Skill trainer running at http://{host}:{port}  (runtime: "
                          f"{'production' if settings.PRODUCTION else 'embedded'}; Ctrl-C stops web and workers)")
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(p.poll() is None for p in procs):
                time.sleep(0.5)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            deadline = time.time() + 15
            for p in procs:
                try:
                    p.wait(timeout=max(0.1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    p.kill()
        failed = [p.args[0] for p in procs if p.returncode not in (0, -signal.SIGTERM, None) and not stopping]
        if failed:
            self.stderr.write(f"stopped because a process exited: {', '.join(failed)}")
            sys.exit(1)
