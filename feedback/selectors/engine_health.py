"""Admin overview: usage and engine health per day, read from what the engines already record.

- persona replies: ``Turn.meta["engine"]`` names the engine; a reply from the fallback reads
  "<scripted> (fallback from <llm>)" (simulations.personas.engines.fallback);
- assessments: ``Assessment.backend`` ("... (fallback from llm:<model>: <error>)" when the LLM failed),
  ``elapsed_ms`` (turn stored to assessment stored) and ``engine_ms``;
- voice turns: ``VoiceClip.status`` / ``asr_backend`` / ``low_accuracy``.

A fixed number of queries whatever the window (grouped by day in SQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Avg, Count, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncDate
from django.utils import timezone

from feedback import cohort_charts
from feedback.cohort_stats import percentile
from feedback.models import Assessment
from simulations.models import PracticeSession, Turn, VoiceClip

FALLBACK_MARK = "fallback from"


@dataclass
class DayRow:
    day: dt.date
    sessions: int = 0
    trainees: int = 0
    minutes: float = 0.0
    persona_replies: int = 0
    persona_fallbacks: int = 0
    assessments: int = 0
    assessment_fallbacks: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    engine_ms_mean: float | None = None
    voice_clips: int = 0
    voice_failed: int = 0
    voice_low_accuracy: int = 0

    @staticmethod
    def rate(part: int, whole: int) -> float | None:
        return round(part / whole, 3) if whole else None

    @property
    def persona_fallback_rate(self) -> float | None:
        return self.rate(self.persona_fallbacks, self.persona_replies)

    @property
    def assessment_fallback_rate(self) -> float | None:
        return self.rate(self.assessment_fallbacks, self.assessments)

    @property
    def voice_failure_rate(self) -> float | None:
        return self.rate(self.voice_failed + self.voice_low_accuracy, self.voice_clips)


@dataclass
class Overview:
    since: dt.datetime
    days: list[DayRow]
    active_trainees: int
    sessions: int
    minutes: float
    persona_engines: list[tuple[str, int]]
    assessment_backends: list[tuple[str, int]]
    asr_backends: list[tuple[str, int]]
    llm_errors: list[dict] = field(default_factory=list)
    charts: dict = field(default_factory=dict)


def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else dt.date.fromisoformat(str(value)[:10])


def overview(*, days: int = 30, now: dt.datetime | None = None) -> Overview:
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    start = timezone.localdate(since) if timezone.is_aware(since) else since.date()
    end = timezone.localdate(now) if timezone.is_aware(now) else now.date()
    rows: dict[dt.date, DayRow] = {}
    d = start
    while d <= end:
        rows[d] = DayRow(day=d)
        d += dt.timedelta(days=1)

    def row(day) -> DayRow:
        key = _day(day)
        return rows.setdefault(key, DayRow(day=key))

    sessions = PracticeSession.objects.filter(started_at__gte=since)
    for day, n, trainees in sessions.annotate(day=TruncDate("started_at")).values_list("day").annotate(
            n=Count("pk"), trainees=Count("trainee", distinct=True)).order_by():
        r = row(day)
        r.sessions, r.trainees = n, trainees
    total_minutes = 0.0
    for started, ended in sessions.exclude(ended_at=None).values_list("started_at", "ended_at"):
        minutes = max(0.0, (ended - started).total_seconds() / 60)
        total_minutes += minutes
        r = row(timezone.localdate(started) if timezone.is_aware(started) else started.date())
        r.minutes = round(r.minutes + minutes, 1)
    active = sessions.values("trainee").distinct().count()

    persona = Turn.objects.filter(speaker=Turn.Speaker.PERSONA, created_at__gte=since).annotate(
        day=TruncDate("created_at"), engine=KeyTextTransform("engine", "meta"))
    engines: dict[str, int] = {}
    for day, engine, n in persona.values_list("day", "engine").annotate(n=Count("pk")).order_by():
        r = row(day)
        r.persona_replies += n
        if engine and FALLBACK_MARK in engine:
            r.persona_fallbacks += n
        engines[engine or "(not recorded)"] = engines.get(engine or "(not recorded)", 0) + n

    assessments = Assessment.objects.filter(created_at__gte=since).annotate(day=TruncDate("created_at"))
    backends: dict[str, int] = {}
    for day, n, fallbacks, engine_ms in assessments.values_list("day").annotate(
            n=Count("pk"), fb=Count("pk", filter=Q(backend__icontains=FALLBACK_MARK)), engine=Avg("engine_ms")).order_by():
        r = row(day)
        r.assessments, r.assessment_fallbacks = n, fallbacks
        r.engine_ms_mean = round(engine_ms, 1) if engine_ms is not None else None
    latencies: dict[dt.date, list[float]] = {}
    for day, elapsed in assessments.exclude(elapsed_ms=None).values_list("day", "elapsed_ms"):
        latencies.setdefault(_day(day), []).append(float(elapsed))
    for day, values in latencies.items():
        r = row(day)
        r.latency_p50_ms, r.latency_p95_ms = percentile(values, 50), percentile(values, 95)
    for backend, n in assessments.values_list("backend").annotate(n=Count("pk")).order_by("-n")[:200]:
        name = backend.split(": ", 1)[0] if FALLBACK_MARK in backend else backend
        backends[name or "(not recorded)"] = backends.get(name or "(not recorded)", 0) + n
    errors = [
        {"at": created, "framework": slug, "backend": backend.split(" (", 1)[0],
         "error": backend.split(": ", 1)[1].rstrip(")") if ": " in backend else backend}
        for created, slug, backend in assessments.filter(backend__icontains=FALLBACK_MARK)
        .order_by("-created_at").values_list("created_at", "framework_slug", "backend")[:20]
    ]

    clips = VoiceClip.objects.filter(created_at__gte=since).annotate(day=TruncDate("created_at"))
    for day, n, failed, low in clips.values_list("day").annotate(
            n=Count("pk"), failed=Count("pk", filter=Q(status=VoiceClip.Status.FAILED)),
            low=Count("pk", filter=Q(low_accuracy=True))).order_by():
        r = row(day)
        r.voice_clips, r.voice_failed, r.voice_low_accuracy = n, failed, low
    asr = list(clips.exclude(asr_backend="").values_list("asr_backend").annotate(n=Count("pk")).order_by("-n"))

    ordered = [rows[k] for k in sorted(rows)]
    labels = [r.day.strftime("%d %b") for r in ordered]
    charts = {
        "usage": cohort_charts.daily_line(days=labels, series=[("sessions", [r.sessions for r in ordered], "series-a"),
                                                               ("active trainees", [r.trainees for r in ordered], "series-b")]),
        "fallback": cohort_charts.daily_line(days=labels, y_format="percent", y_max=1.0, series=[
            ("persona fallback rate", [r.persona_fallback_rate for r in ordered], "series-a"),
            ("assessment fallback rate", [r.assessment_fallback_rate for r in ordered], "series-b"),
            ("voice failed or low-accuracy rate", [r.voice_failure_rate for r in ordered], "series-c")]),
        "latency": cohort_charts.daily_line(days=labels, series=[("p95 ms", [r.latency_p95_ms for r in ordered], "series-a"),
                                                                 ("p50 ms", [r.latency_p50_ms for r in ordered], "series-b")]),
    }
    return Overview(
        since=since, days=ordered, active_trainees=active, sessions=sum(r.sessions for r in ordered), minutes=round(total_minutes),
        persona_engines=sorted(engines.items(), key=lambda kv: -kv[1]), assessment_backends=sorted(backends.items(), key=lambda kv: -kv[1]),
        asr_backends=[(b, n) for b, n in asr], llm_errors=errors, charts=charts,
    )
