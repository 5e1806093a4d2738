"""cohort_dashboard_p95_ms: the cohort dashboard page (/cohorts/<id>/, every section, rendered
by Django in this process through the test client, logged in as the cohort's instructor) for a
generated cohort of 200 trainees x 20 sessions x 15 assessed trainee turns (DEAR MAN, 7 skills).
Baseline: the same per-session, per-skill aggregates (instructor corrections applied) computed
by one raw SQL query, in the same run on the same database."""

from __future__ import annotations

import os
import time

from bench.common import App, django_setup, figure, pct, summary

TRAINEES = int(os.environ.get("BENCH_COHORT_TRAINEES", "200"))
SESSIONS = int(os.environ.get("BENCH_COHORT_SESSIONS", "20"))
TURNS = int(os.environ.get("BENCH_COHORT_TURNS", "15"))
REQUESTS = int(os.environ.get("BENCH_COHORT_REQUESTS", "30"))

RAW_SQL = """
SELECT s.trainee_id, t.session_id, i.skill,
       AVG(CASE COALESCE(NULLIF((SELECT r.corrected_label FROM feedback_review r WHERE r.item_id = i.id
                                 ORDER BY r.created_at DESC, r.id DESC LIMIT 1), ''), i.label)
           WHEN 'strong' THEN 1.0 WHEN 'weak' THEN 0.5 WHEN 'absent' THEN 0.0 END) AS score,
       COUNT(*) AS n
FROM feedback_assessmentitem i
JOIN feedback_assessment a ON a.id = i.assessment_id
JOIN simulations_turn t ON t.id = a.turn_id
JOIN simulations_practicesession s ON s.id = t.session_id
JOIN trainer_app_cohort_members m ON m.user_id = s.trainee_id
WHERE m.cohort_id = %s AND a.framework_slug = %s
GROUP BY s.trainee_id, t.session_id, i.skill
"""


def run() -> dict:
    app = App(name="cohort")
    try:
        app.prepare()
        django_setup(app.var_dir)
        return _measure()
    finally:
        app.stop()  # no server was started: this removes the temporary VAR_DIR (a few hundred MB)


def _measure() -> dict:
    from django.db import connection
    from django.test import Client

    from feedback.models import Framework
    from tests.support.cohort_data import cohort_generate
    from trainer_app.gc_tuning import gc_freeze_after_warm_up

    framework = Framework.objects.get(slug="dear-man")
    t0 = time.perf_counter()
    gen = cohort_generate(framework=framework, trainees=TRAINEES, sessions=SESSIONS, turns=TURNS, seed=7, name="bench")
    generate_s = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    client = Client()
    client.force_login(gen.instructor)
    url = f"/cohorts/{gen.cohort.pk}/?framework=dear-man"
    t0 = time.perf_counter()
    first = client.get(url)  # builds the per-session rollups (feedback.services.rollups)
    cold_ms = (time.perf_counter() - t0) * 1000
    assert first.status_code == 200, first.status_code
    # As a web process does after its warm-up (trainer_app.gc_tuning): long-lived objects out of the collector's way.
    gc_freeze_after_warm_up()
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    page_ms, sql_ms, page_cpu, sql_cpu = [], [], [], []
    rows = 0
    for _ in range(REQUESTS):
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.get(url)
        page_ms.append((time.perf_counter() - t0) * 1000)
        page_cpu.append((time.process_time() - c0) * 1000)
        assert response.status_code == 200
        t0, c0 = time.perf_counter(), time.process_time()
        with connection.cursor() as cursor:
            cursor.execute(RAW_SQL, [gen.cohort.pk, "dear-man"])
            rows = len(cursor.fetchall())
        sql_ms.append((time.perf_counter() - t0) * 1000)
        sql_cpu.append((time.process_time() - c0) * 1000)
    p95, base95 = pct(page_ms, 95), pct(sql_ms, 95)
    return {
        "cohort_dashboard_p95_ms": figure(
            value=round(p95, 1), baseline=round(base95, 1),
            baseline_is="p95 of one raw SQL query computing the per-session, per-skill means with corrections (same run, same database)",
            target="<= 300", unit="ms", n=len(page_ms),
            latency=summary(page_ms), baseline_latency=summary(sql_ms), queries_per_page=len(queries),
            # CPU time of this process (SQLite runs in it too): steadier than wall time on a shared machine.
            cpu_ms=summary(page_cpu), baseline_cpu_ms=summary(sql_cpu),
            cold_first_page_ms=round(cold_ms, 1), load_avg=[round(x, 2) for x in os.getloadavg()],
            page_bytes=len(first.content), raw_sql_rows=rows, database=connection.vendor,
            size={"trainees": TRAINEES, "sessions_per_trainee": SESSIONS, "trainee_turns_per_session": TURNS,
                  "skills": len(framework.data.get("skills") or []), "generate_s": round(generate_s, 1)},
        ),
    }
