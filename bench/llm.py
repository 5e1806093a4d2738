"""llm_ttft_overhead_p95_ms: time to first token through the app minus straight
from the same loopback OpenAI-compatible server (tests/support/chat_server.py),
paired turn by turn (direct request, then the same kind of turn through the app)."""

from __future__ import annotations

import asyncio
import time

from bench.common import App, WsClient, django_setup, figure, login_cookie, pct, session_start, summary, trainee_create
from bench.utterances import FAMILIES

PAIRS = 36
FIRST_TOKEN_DELAY_S = 0.25
REPLY = "Well, I suppose that's fair. I just don't really know where to start with it, honestly."
SESSIONS = 4  # turns spread over users: the chat rate limit is 30 a minute per user


def _direct_ttft(client, model: str, text: str) -> float:
    t0 = time.perf_counter()
    stream = client.chat.completions.create(
        model=model, stream=True, max_tokens=300, temperature=0.8,
        messages=[{"role": "system", "content": "You are a standardized patient."}, {"role": "user", "content": text}],
    )
    try:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                return (time.perf_counter() - t0) * 1000
    finally:
        stream.close()
    return float("nan")


def run() -> dict:
    import openai

    from tests.support.chat_server import ChatBehaviour, ChatServer

    t_start = time.perf_counter()
    server = ChatServer(ChatBehaviour(replies=[REPLY], first_token_delay_s=FIRST_TOKEN_DELAY_S, model="bench-model")).start()
    app = App(name="llm", env={"LLM_BASE_URL": server.base_url, "LLM_MODEL": "bench-model", "LLM_API_KEY": "bench",
                               # persona TTFT only: keep the assessor offline (it would send its own requests here)
                               "ASSESSMENT_LLM_ENABLED": "false"})
    try:
        app.prepare()
        django_setup(app.var_dir)
        app.start()
        client = openai.OpenAI(base_url=server.base_url, api_key="bench", max_retries=0, timeout=30)
        slugs = ["noise-easy", "mi-aisha-smoking", "aisling-first-session", "loan-medium"]
        sessions, cookies = [], []
        for i in range(SESSIONS + 1):
            user = trainee_create(f"llm{i}")
            sessions.append(session_start(user, slugs[i % len(slugs)]))
            cookies.append(login_cookie(user))
        lines = [t for f in FAMILIES.values() for t in f["lines"]]

        async def go():
            loop = asyncio.get_running_loop()
            clients = [WsClient(app=app, session_id=s.pk, cookie=c) for s, c in zip(sessions, cookies, strict=True)]
            for c in clients:
                await c.connect()
            await asyncio.sleep(0.5)
            direct, through, errors = [], [], []

            async def app_turn(c, text, cid):
                await c.send_turn(text, cid)
                t0 = time.perf_counter()
                while time.perf_counter() - t0 < 30:
                    tid = c.turn_ids.get(cid)
                    if tid and tid in c.reply_done:
                        return c.first_chunk[tid] - c.sent[cid] if tid in c.first_chunk else None
                    await asyncio.sleep(0.01)
                return None

            # warm-up (not measured): model loads in the web process, connection set-up
            warm = clients[-1]
            for k in range(2):
                await loop.run_in_executor(None, _direct_ttft, client, "bench-model", "hello")
                await app_turn(warm, "Hello, thanks for coming in.", f"warm-{k}")
                await asyncio.sleep(0.3)
            for i in range(PAIRS):
                c = clients[i % SESSIONS]
                text = lines[(i * 5) % len(lines)]
                d = await loop.run_in_executor(None, _direct_ttft, client, "bench-model", text)
                await asyncio.sleep(0.1)
                a = await app_turn(c, text, f"t{i}")
                if a is None:
                    errors.append(i)
                else:
                    direct.append(d)
                    through.append(a)
                await asyncio.sleep(0.4)  # let the worker's assessment of that turn finish
            errs = [e for c in clients for e in c.errors] + [n for c in clients for n in c.notices]
            for c in clients:
                await c.close()
            return direct, through, errors, errs

        direct, through, failed, errs = asyncio.run(go())
        overhead = [a - d for a, d in zip(through, direct, strict=True)]
        p95 = pct(overhead, 95)
        from simulations.models import Turn

        engines = sorted({str(e) for e in Turn.objects.filter(speaker=Turn.Speaker.PERSONA, reply_to__isnull=False)
                          .values_list("meta__engine", flat=True)})
        return {
            "llm_ttft_overhead_p95_ms": figure(
                value=None if p95 is None else round(p95, 1), baseline=round(pct(direct, 95), 1) if direct else None,
                baseline_is="p95 time to first content token straight from the same server (openai SDK, streaming, "
                            "persistent client), measured just before each app turn; value = p95 of the per-pair "
                            "difference (app first reply-chunk push - direct first token)",
                target="<= 30", unit="ms", n=len(overhead),
                met=None if p95 is None else (p95 <= 30 and not failed and not errs),
                overhead=summary(overhead), direct_ttft=summary(direct), app_ttft=summary(through),
                first_token_delay_s=FIRST_TOKEN_DELAY_S, chunk_delay_s=0.0,
                failed_turns=len(failed), errors=errs[:5], persona_engines_used=engines,
                note="the app's LLM engine yields only whole sentences (leak check); with chunk_delay_s=0 the first "
                     "sentence arrives with the first token, so this measures the app's own overhead",
            ),
            "_timings": {"llm_total_s": round(time.perf_counter() - t_start, 1), **{f"llm_{k}": v for k, v in app.timings.items()}},
        }
    finally:
        app.stop()
        server.stop()
