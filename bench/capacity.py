"""scripted_ws_capacity_turns_per_s: the highest turn rate the app answers in time.

The load is stepped up (BENCH_CAPACITY_RATES, turns per second; default 25, 50,
75, 100, 150): at each rate, rate x 2 pages (each its own trainee and session,
a turn every 2 s, as in scripted_ws_p95_ms) send turns for
BENCH_CAPACITY_STEP_S seconds. A step passes when first-reply p95 <= 250 ms,
no turn is lost (stored, answered, reply pushed) and no turn is refused; the
figure is the last rate that passed (the steps stop at the first failure).
Each step also reports the web tier's CPU per turn (ms of CPU time of the web
processes, over turns sent), and what the pages saw above capacity (refusals
with "your partner needs a moment", never a silent wait). The live-feedback worker
runs at a lower priority and may lag: each step reports the feedback done and still
pending after it, and the workers' CPU per turn they assessed; with
BENCH_CAPACITY_FEEDBACK_DRAIN_S (seconds, default 0) a step first waits for its
feedback, so that CPU covers all of the step's feedback and nothing else."""

from __future__ import annotations

import asyncio
import os
import time

from bench.common import App, WsClient, django_setup, figure, pct, process_tree_cpu_s, summary
from bench.scripted import INTERVAL_S, _db_verify, _run, sessions_prepare

RATES = [int(r) for r in os.environ.get("BENCH_CAPACITY_RATES", "25,50,75,100,150").split(",") if r.strip()]
STEP_S = float(os.environ.get("BENCH_CAPACITY_STEP_S", "20"))
# After a step, wait up to this long for every stored turn's live feedback (0: don't wait), so that the
# feedback worker's CPU is measured over all the work of the step and only of the step.
FEEDBACK_DRAIN_S = float(os.environ.get("BENCH_CAPACITY_FEEDBACK_DRAIN_S", "0"))
P95_LIMIT_MS = 250.0


def _step(app: App, rate: int) -> dict:
    n = max(1, int(round(rate * INTERVAL_S)))
    sessions, cookies, plans = sessions_prepare(n, prefix=f"cap{rate}-")
    clients = [WsClient(app=app, session_id=s.pk, cookie=c) for s, c in zip(sessions, cookies, strict=True)]
    worker_cpu_before = sum(process_tree_cpu_s(app.processes().get("worker", [])).values())
    run_info = asyncio.run(_run(app, clients, plans, duration_s=STEP_S))
    feedback_drain_s = _feedback_drained(session_ids=[s.pk for s in sessions], timeout_s=FEEDBACK_DRAIN_S)
    worker_cpu_step_s = sum(process_tree_cpu_s(app.processes().get("worker", [])).values()) - worker_cpu_before
    latencies = [
        c.first_chunk[c.turn_ids[cid]] - sent
        for c in clients
        for cid, sent in c.sent.items()
        if c.turn_ids.get(cid) in c.first_chunk
    ]
    errors = [e for c in clients for e in c.errors]
    codes: dict[str, int] = {}
    for e in errors:
        codes[e["code"]] = codes.get(e["code"], 0) + 1
    verify = _db_verify(clients, [s.pk for s in sessions])
    refused = {e["client_id"] for e in errors if e["code"] in ("overloaded", "busy")}
    lost = [x for x in verify["lost"] if x["client_id"] not in refused]  # refused turns were never stored
    sent = sum(len(c.sent) for c in clients)
    assessed, pending = _feedback_counts(session_ids=[s.pk for s in sessions])
    worker_cpu_s = run_info["cpu_seconds_run_and_drain"].get("worker", 0.0)
    p95 = pct(latencies, 95)
    web_cpu_s = run_info["cpu_seconds_during_run"].get("web", 0.0)
    passed = (
        p95 is not None and p95 <= P95_LIMIT_MS and not errors and not verify["lost"] and not run_info["connect_errors"]
    )
    return {
        "rate_turns_per_s": rate,
        "pages": n,
        "turns_sent": sent,
        "passed": passed,
        "first_reply_ms": summary(latencies),
        "p95_ms": None if p95 is None else round(p95, 1),
        "refused": codes,
        "lost_turns_not_refused": len(lost),
        "lost_examples": lost[:3],
        "web_cpu_ms_per_turn": round(1000 * web_cpu_s / sent, 1) if sent else None,
        "worker_cpu_ms_per_turn": round(1000 * run_info["cpu_seconds_during_run"].get("worker", 0.0) / sent, 1)
        if sent
        else None,
        # The feedback worker runs at a lower priority and may lag: its CPU over the run and the drain, per
        # turn it had assessed by the end of the drain (a backlog left from the step before counts here too).
        "live_feedback_assessed": assessed,
        "live_feedback_pending_after_drain": pending,
        "worker_cpu_ms_per_assessed_turn": round(1000 * worker_cpu_s / assessed, 1) if assessed else None,
        # With BENCH_CAPACITY_FEEDBACK_DRAIN_S: the workers' CPU from the step's start until its feedback drained.
        "feedback_drain_s": feedback_drain_s,
        "worker_cpu_ms_per_assessed_turn_step": round(1000 * worker_cpu_step_s / assessed, 1) if assessed else None,
        "run": run_info,
    }


def _feedback_drained(*, session_ids: list[int], timeout_s: float) -> float | None:
    """Seconds until no live feedback of these sessions is pending (None: still pending after timeout_s)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        if not _feedback_counts(session_ids=session_ids)[1]:
            return round(time.perf_counter() - t0, 1)
        time.sleep(0.25)
    return None


def _feedback_counts(*, session_ids: list[int]) -> tuple[int, int]:
    """(turns assessed, turns whose assessment is still pending or running) in these sessions, now."""
    from feedback.models import AssessmentRequest

    requests = AssessmentRequest.objects.filter(turn__session_id__in=session_ids)
    done = requests.filter(status=AssessmentRequest.Status.DONE).count()
    return done, requests.count() - done


def run() -> dict:
    t_start = time.perf_counter()
    app = App(name="capacity")
    try:
        app.prepare()
        django_setup(app.var_dir)
        app.start()
        steps = []
        for rate in RATES:
            step = _step(app, rate)
            steps.append(step)
            if not step["passed"]:
                break
        passing = [s["rate_turns_per_s"] for s in steps if s["passed"]]
        capacity = max(passing) if passing else 0
        at_capacity = next((s for s in steps if s["rate_turns_per_s"] == capacity), None)
        return {
            "scripted_ws_capacity_turns_per_s": figure(
                value=capacity,
                baseline=100,
                baseline_is="the 100-session load of scripted_ws_p95_ms (50 turns/s) x 2",
                target=">= 100",
                unit="turns/s",
                n=len(steps),
                criterion=f"first-reply p95 <= {P95_LIMIT_MS:.0f} ms, no turn lost or refused, for {STEP_S:.0f} s",
                web_cpu_ms_per_turn_at_capacity=at_capacity and at_capacity["web_cpu_ms_per_turn"],
                steps=steps,
            ),
            "_timings": {"capacity_total_s": round(time.perf_counter() - t_start, 1), **app.timings},
        }
    finally:
        app.stop()
