"""`make bench`: every figure side by side with its baseline, as one JSON document
(printed, and written to bench/results.json).

Each figure runs in its own process (its own temporary VAR_DIR, set before
django.setup()), one after the other: the machine has 2 cores.

    python -m bench                      # everything
    python -m bench --only scripted,llm  # some figures
    python -m bench --only prod_ws       # the production topology (PostgreSQL + Redis) under websocket load
    python -m bench --compare-nice       # also 30-s scripted runs with the worker at nice 0 and at nice 10
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import PY, REPO, machine_info

FIGURES = ["feedback", "llm", "asr_models", "asr", "diarize", "scripted", "web_rss", "capacity", "recordings",
           "recording_hallucinations", "cohort", "prod_ws"]
TOP_KEYS = ["scripted_ws_p95_ms", "scripted_ws_errors", "scripted_ws_lost_turns", "scripted_ws_capacity_turns_per_s",
            "llm_ttft_overhead_p95_ms", "asr_pipeline_rtf_ratio", "asr_tiny_rtf", "asr_base_rtf", "voice_turn_p95_ms",
            "diarize_rtf", "recording_pipeline_rtf", "assess_offline_p95_ms", "live_feedback_p95_ms", "web_rss_mb",
            "worker_rss_mb", "cohort_dashboard_p95_ms", "prod_ws_p95_ms", "prod_ws_errors", "prod_ws_lost_turns",
            "prod_live_feedback_p95_ms", "prod_web_cpu_ms_per_turn", "prod_rss_mb"]
FIGURE_TIMEOUT_S = 420
# several load steps each with its own pages; the app started twice (web_rss); a 5-minute recording through every
# stage, and its baseline; prod_ws: a fresh PostgreSQL database, 300 pages for 120 s on the production topology,
# up to 60 s of drain
FIGURE_TIMEOUTS_S = {"capacity": 1200, "recordings": 2400, "recording_hallucinations": 1200, "web_rss": 900, "prod_ws": 1200}


def run_figure(name: str, *args: str, env: dict | None = None) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([PY, "-m", "bench.run", name, out, *args], cwd=REPO, timeout=FIGURE_TIMEOUTS_S.get(name, FIGURE_TIMEOUT_S),  # noqa: S603
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        try:
            result = json.loads(Path(out).read_text() or "{}")
        except json.JSONDecodeError:
            result = {}
        if not result:
            result = {"_error": {name: f"exit {proc.returncode}: {proc.stderr[-3000:]}"}}
    except subprocess.TimeoutExpired:
        result = {"_error": {name: f"timed out after {FIGURE_TIMEOUTS_S.get(name, FIGURE_TIMEOUT_S)} s"}}
    finally:
        Path(out).unlink(missing_ok=True)
    result.setdefault("_timings", {})[f"{name}{'_' + '_'.join(args) if args else ''}_wall_s"] = round(time.perf_counter() - t0, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", default="", help="comma-separated: " + ",".join(FIGURES))
    parser.add_argument("--compare-nice", action="store_true", help="scripted run with WORKER_NICE=0 and =10")
    opts = parser.parse_args()
    names = [n for n in (opts.only.split(",") if opts.only else FIGURES) if n]
    t0 = time.perf_counter()
    # One embedding export for every figure's app (content-addressed, so sharing is safe), not one per figure.
    cache = tempfile.mkdtemp(prefix="bench-embeddings-")
    os.environ.setdefault("EMBEDDINGS_CACHE_DIR", cache)
    doc: dict = {"machine": machine_info(), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    timings: dict = {}
    errors: dict = {}
    for name in names:
        print(f"bench: {name}...", file=sys.stderr, flush=True)
        result = run_figure(name)
        timings.update(result.pop("_timings", {}))
        errors.update(result.pop("_error", {}))
        doc.update(result)
    if opts.compare_nice:
        doc["worker_nice_comparison"] = {}
        for nice in ("0", "10"):
            print(f"bench: scripted with WORKER_NICE={nice}...", file=sys.stderr, flush=True)
            result = run_figure("scripted", f"worker_nice={nice}", env={"BENCH_WS_SECONDS": "30"})
            timings.update(result.pop("_timings", {}))
            errors.update({f"{k}_nice{nice}": v for k, v in result.pop("_error", {}).items()})
            doc["worker_nice_comparison"][f"nice_{nice}"] = {
                k: {kk: result[k].get(kk) for kk in ("value", "met", "latency", "turn_to_reply_done_ms", "run")
                    if kk in result[k]} for k in ("scripted_ws_p95_ms", "scripted_ws_errors", "scripted_ws_lost_turns")
                if k in result}
    for key in TOP_KEYS:  # every named figure exists, even when its run failed
        doc.setdefault(key, {"value": None, "baseline": None, "met": False, "error": "not measured (see errors)"})
    doc["targets_met"] = {k: bool(doc[k].get("met")) for k in TOP_KEYS}
    doc["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    doc["durations_s"] = {**timings, "bench_total_s": round(time.perf_counter() - t0, 1)}
    if errors:
        doc["errors"] = errors
    shutil.rmtree(cache, ignore_errors=True)
    text = json.dumps(doc, indent=2)
    (REPO / "bench" / "results.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
