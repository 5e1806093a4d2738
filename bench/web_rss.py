"""web_rss_mb: resident memory of each web process after a websocket load, side by side with the
web process of the path before (sentence embeddings on PyTorch in the web process).

The app is started as `make run` starts it (`manage.py serve`: two web processes, the
Celery workers), twice on the same database, one after the other:
- value: the default (``EMBEDDINGS_RUNTIME=onnx``): the web processes encode with ONNX Runtime and
  ``tokenizers`` and load no PyTorch;
- baseline: ``EMBEDDINGS_RUNTIME=torch``: each web process loads sentence-transformers on PyTorch.
Each gets the same load after a warm-up page: ``BENCH_RSS_CLIENTS`` sessions (30), a turn every 2 s
for ``BENCH_RSS_SECONDS`` (30 s), mixed CBT / DEAR MAN / MI scripted scenarios (bench/scripted.py's
lines). Then the RSS of every web process, and whether PyTorch is mapped into it (/proc/PID/maps).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time

from bench.common import App, WsClient, django_setup, figure, free_port
from bench.scripted import _run, sessions_prepare, warm_up

CLIENTS = int(os.environ.get("BENCH_RSS_CLIENTS", "30"))
SECONDS = float(os.environ.get("BENCH_RSS_SECONDS", "30"))
TARGET_MB = 500


def _measure(app: App, *, runtime: str) -> dict:
    """Start the app with this embeddings runtime, load it, read every web process; then stop it."""
    import bench.scripted as scripted
    from trainer_app.models import WorkerHeartbeat

    WorkerHeartbeat.objects.all().delete()  # App.start waits for this start's workers, not the last one's
    app.env["EMBEDDINGS_RUNTIME"] = runtime
    app.log_path = app.var_dir / f"serve-{runtime}.log"
    app.port = free_port()
    t0 = time.perf_counter()
    app.start()
    started_s = time.perf_counter() - t0
    try:
        time.sleep(2.0)
        after_start = app.web_processes()
        sessions, cookies, plans = sessions_prepare(CLIENTS + 1, prefix=f"rss-{runtime}-")
        asyncio.run(warm_up(app, session_id=sessions[-1].pk, cookie=cookies[-1]))
        clients = [WsClient(app=app, session_id=s.pk, cookie=c) for s, c in zip(sessions[:CLIENTS], cookies[:CLIENTS],
                                                                             strict=True)]
        saved = scripted.DURATION_S
        scripted.DURATION_S = SECONDS  # the same load as the scripted figure, shorter
        try:
            run_info = asyncio.run(_run(app, clients, plans[:CLIENTS]))
        finally:
            scripted.DURATION_S = saved
        time.sleep(1.0)
        after_load = app.web_processes()
        sent = sum(len(c.sent) for c in clients)
        replied = sum(1 for c in clients for cid in c.sent if c.turn_ids.get(cid) in c.reply_done)
    finally:
        app.stop()  # keep=True: the database stays for the next start
    return {"after_start": after_start, "after_load": after_load, "turns_sent": sent, "turns_replied": replied,
            "start_s": round(started_s, 1), "web_cpu_s": run_info["cpu_seconds_during_run"].get("web")}


def run() -> dict:
    t_start = time.perf_counter()
    app = App(name="web-rss", keep=True)
    try:
        app.prepare()
        django_setup(app.var_dir)
        onnx = _measure(app, runtime="onnx")
        torch = _measure(app, runtime="torch")
    finally:
        shutil.rmtree(app.var_dir, ignore_errors=True)

    def worst(processes: list[dict]) -> float | None:
        return max((p["rss_mb"] for p in processes), default=None)

    value, baseline = worst(onnx["after_load"]), worst(torch["after_load"])
    no_torch = bool(onnx["after_load"]) and not any(p["torch_loaded"] for p in onnx["after_load"])
    return {
        "web_rss_mb": figure(
            value=value, baseline=baseline,
            baseline_is="the same load on web processes started with EMBEDDINGS_RUNTIME=torch (sentence-transformers on "
                        "PyTorch in the web process: the path before), same run, same database",
            target=f"< {TARGET_MB}", unit="MB (largest web process after the load)", n=len(onnx["after_load"]),
            met=value is not None and value < TARGET_MB and no_torch,
            per_process={"onnx": onnx["after_load"], "torch": torch["after_load"]},
            after_start={"onnx": onnx["after_start"], "torch": torch["after_start"]},
            web_processes_load_pytorch={"onnx": not no_torch,
                                        "torch": any(p["torch_loaded"] for p in torch["after_load"])},
            load={"clients": CLIENTS, "seconds": SECONDS, "interval_s": 2.0,
                  "turns_sent": {"onnx": onnx["turns_sent"], "torch": torch["turns_sent"]},
                  "turns_replied": {"onnx": onnx["turns_replied"], "torch": torch["turns_replied"]},
                  "web_cpu_s": {"onnx": onnx["web_cpu_s"], "torch": torch["web_cpu_s"]}},
        ),
        "_timings": {"web_rss_total_s": round(time.perf_counter() - t_start, 1),
                     "web_rss_start_s": {"onnx": onnx["start_s"], "torch": torch["start_s"]}},
    }
