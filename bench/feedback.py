"""assess_offline_p95_ms (in this process, before the app starts, on the same
database) and live_feedback_p95_ms (websocket turn -> its "feedback" push,
a few concurrent sessions, offline assessment backend)."""

from __future__ import annotations

import asyncio
import time

from bench.common import App, WsClient, django_setup, figure, login_cookie, pct, session_start, summary, trainee_create
from bench.utterances import CBT, DEAR_MAN, FAMILIES, MI

LIVE_SESSIONS = [("dear-man", "noise-easy"), ("cbt", "aisling-first-session"), ("mi", "mi-aisha-smoking"),
                 ("dear-man", "loan-medium"), ("cbt", "derek-first-session")]
FRAMEWORK_OF = {"dear-man": "dear-man", "cbt": "cbt-formulation", "mi": "mi"}
LIVE_INTERVAL_S = 3.0
LIVE_DURATION_S = 30.0


def assess_offline() -> dict:
    """Per framework: assess each utterance once after a warm-up; baseline: embedding it alone."""
    from feedback.selectors.frameworks import framework_pack_dict
    from feedback.services.assessors import assessor_get
    from trainer_app.engines.embeddings import embed

    utterances = DEAR_MAN + MI + CBT
    embed(["warm-up"])
    base = []
    for text in utterances:
        t0 = time.perf_counter()
        embed([text])
        base.append((time.perf_counter() - t0) * 1000)
    out, times = {}, {}
    for slug in ("dear-man", "mi", "cbt-formulation"):
        framework = framework_pack_dict(slug=slug)
        t0 = time.perf_counter()
        try:
            assessor = assessor_get(framework=framework) if framework else None
        except Exception as exc:  # noqa: BLE001 - reported
            out[slug] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        build_s = time.perf_counter() - t0
        if assessor is None:
            out[slug] = {"error": "no assessor (see feedback.engines.registry: assessor_for returned/raised unavailable)"}
            continue
        try:
            for warm in ("Hello, thanks for coming in today.", "Could you say a bit more about that?",
                         "I'd like us to agree on this."):
                assessor.assess(utterance=warm, context=[])
            ms = []
            for text in utterances:
                t0 = time.perf_counter()
                assessor.assess(utterance=text, context=[{"speaker": "partner", "text": "I don't know, it's been a hard week."}])
                ms.append((time.perf_counter() - t0) * 1000)
                times[(slug, text)] = ms[-1]
        except Exception as exc:  # noqa: BLE001 - reported, the other frameworks go on
            out[slug] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        out[slug] = {"backend": getattr(assessor, "backend", type(assessor).__name__), "kind": framework.get("kind"),
                     "build_s": round(build_s, 2), "latency_ms": summary(ms)}
    return {"per_framework": out, "embed_ms": base, "times": times}


def run() -> dict:
    t_start = time.perf_counter()
    app = App(name="feedback")
    try:
        app.prepare()
        django_setup(app.var_dir)
        offline = assess_offline()
        per = offline["per_framework"]
        p95s = {slug: (per[slug].get("latency_ms") or {}).get("p95") for slug in ("dear-man", "mi")}
        known = [v for v in p95s.values() if v is not None]
        worst = max(known) if known else None
        missing = [s for s, v in p95s.items() if v is None]
        embed95 = pct(offline["embed_ms"], 95)
        result = {
            "assess_offline_p95_ms": figure(
                value=worst, baseline=round(embed95, 1) if embed95 is not None else None,
                baseline_is="p95 of embedding the utterance alone (trainer_app.engines.embeddings.embed, same process)",
                target="<= 50", unit="ms", n=len(offline["embed_ms"]),
                met=(worst is not None and worst <= 50 and not missing),
                dear_man_skill_rubric_p95_ms=p95s["dear-man"], mi_behaviour_coding_p95_ms=p95s["mi"],
                value_is="max of the DEAR MAN skill-rubric p95 and the MI behaviour-coding p95 (a missing one fails)",
                missing=missing, per_framework=per, embed_ms=summary(offline["embed_ms"]),
                note="each framework assesses the same 42 distinct utterances once after a 3-utterance warm-up; "
                     "measured before the app's processes start",
            ),
        }

        app.start()
        sessions, cookies, families = [], [], []
        for i, (family, slug) in enumerate([*LIVE_SESSIONS, ("dear-man", "raise-easy")]):
            user = trainee_create(f"fb{i}")
            sessions.append(session_start(user, slug))
            cookies.append(login_cookie(user))
            families.append(family)

        async def go():
            clients = [WsClient(app=app, session_id=s.pk, cookie=c) for s, c in zip(sessions, cookies, strict=True)]
            for c in clients:
                await c.connect()
            warm = clients[-1]  # the web process loads its model on first use: not measured
            await warm.send_turn("Hi, have you got a minute?", "warm-0")
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < 30 and not warm.feedback:
                await asyncio.sleep(0.1)
            start = time.perf_counter() + 0.3
            sent = []

            async def loop_one(i, c):
                lines = FAMILIES[families[i]]["lines"]
                k = 0
                while k * LIVE_INTERVAL_S < LIVE_DURATION_S:
                    delay = start + i * LIVE_INTERVAL_S / len(LIVE_SESSIONS) + k * LIVE_INTERVAL_S - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    text = lines[(k + 3 * i) % len(lines)]
                    await c.send_turn(text, f"f{i}-{k}")
                    sent.append((i, f"f{i}-{k}", text))
                    k += 1

            await asyncio.gather(*(loop_one(i, c) for i, c in enumerate(clients[: len(LIVE_SESSIONS)])))
            t1 = time.perf_counter()
            while time.perf_counter() - t1 < 15:
                if all(clients[i].turn_ids.get(cid) in clients[i].feedback for i, cid, _ in sent):
                    break
                await asyncio.sleep(0.1)
            for c in clients:
                await c.close()
            return clients, sent

        clients, sent = asyncio.run(go())
        latencies, baseline, missing_by_family = [], [], {}
        for i, cid, text in sent:
            c = clients[i]
            tid = c.turn_ids.get(cid)
            fw = FRAMEWORK_OF[families[i]]
            if tid in c.feedback:
                latencies.append(c.feedback[tid] - c.sent[cid])
            else:
                missing_by_family[fw] = missing_by_family.get(fw, 0) + 1
            t = offline["times"].get((fw, text))
            if t is not None:
                baseline.append(t)
        p95 = pct(latencies, 95)
        b95 = pct(baseline, 95)
        errors = [e for c in clients for e in c.errors]
        result["live_feedback_p95_ms"] = figure(
            value=None if p95 is None else round(p95, 1), baseline=None if b95 is None else round(b95, 1),
            baseline_is="p95 of the offline assessment of the same utterances by the same frameworks in the bench process "
                        "(assess_offline run)",
            target="<= 1000", unit="ms", n=len(latencies),
            met=(p95 is not None and p95 <= 1000 and not missing_by_family and not errors),
            latency=summary(latencies), turns_sent=len(sent), feedback_missing_by_framework=missing_by_family,
            sessions=[f"{f}:{s}" for f, s in LIVE_SESSIONS], interval_s=LIVE_INTERVAL_S, duration_s=LIVE_DURATION_S,
            errors=errors[:5],
        )
        result["_timings"] = {"feedback_total_s": round(time.perf_counter() - t_start, 1),
                              **{f"feedback_{k}": v for k, v in app.timings.items()}}
        return result
    finally:
        app.stop()
