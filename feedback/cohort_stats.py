"""Cohort analytics computed from plain rows (no database): heatmap cells,
trajectories with the cohort median, rating distributions, weakest skills,
practice volume per week, drop-off. Selectors fetch the rows
(feedback.selectors.cohort_analytics); templates render what this returns.

A "value" is one session's figure for one skill: for skill rubrics the mean
label score of the session's assessed turns (strong 1, weak 0.5, absent 0,
instructor corrections applied); for behaviour coding a MITI summary figure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from statistics import median
from typing import NamedTuple

from feedback.scoring import SUBTYPE_FAMILY


class SessionValue(NamedTuple):
    trainee_id: int
    session_id: int
    started_at: dt.datetime
    skill: str
    value: float
    n: int = 1  # how many assessed turns the value rests on


@dataclass
class HeatCell:
    skill: str
    first: float | None = None
    latest: float | None = None
    best: float | None = None
    sessions: int = 0
    first_session_id: int | None = None
    latest_session_id: int | None = None

    @property
    def change(self) -> float | None:
        if self.first is None or self.latest is None or self.sessions < 2:
            return None
        return round(self.latest - self.first, 3)


@dataclass
class HeatRow:
    trainee_id: int
    name: str
    cells: list[HeatCell]
    sessions: int = 0

    def cell(self, skill: str) -> HeatCell | None:
        return next((c for c in self.cells if c.skill == skill), None)


Grouped = dict[int, dict[str, list[SessionValue]]]


def values_by_trainee(values: Iterable[SessionValue]) -> Grouped:
    """trainee -> skill -> values, oldest session first (ties by session id)."""
    out: Grouped = {}
    for v in sorted(values, key=attrgetter("started_at", "session_id")):
        out.setdefault(v.trainee_id, {}).setdefault(v.skill, []).append(v)
    return out


def heatmap_rows(*, values: Iterable[SessionValue], trainees: dict[int, str], skills: list[str],
                 grouped: Grouped | None = None) -> list[HeatRow]:
    """One row per trainee (every trainee named, even without sessions), one cell per skill:
    first, latest and best value in the range and how many sessions carry the skill."""
    grouped = grouped if grouped is not None else values_by_trainee(values)
    rows = []
    for trainee_id, name in trainees.items():
        per_skill = grouped.get(trainee_id, {})
        cells = []
        session_ids: set[int] = set()
        for skill in skills:
            series = per_skill.get(skill, [])
            cell = HeatCell(skill=skill, sessions=len(series))
            if series:
                cell.first, cell.latest = round(series[0].value, 3), round(series[-1].value, 3)
                cell.best = round(max(v.value for v in series), 3)
                cell.first_session_id, cell.latest_session_id = series[0].session_id, series[-1].session_id
                session_ids.update(v.session_id for v in series)
            cells.append(cell)
        rows.append(HeatRow(trainee_id=trainee_id, name=name, cells=cells, sessions=len(session_ids)))
    return rows


SORT_KEYS = ("name", "sessions", "latest", "change")


def heatmap_sort(*, rows: list[HeatRow], key: str, skill: str = "", descending: bool = False) -> list[HeatRow]:
    """Sort by name, session count, or one skill's latest value or change. Rows without a
    value for that skill go last whatever the direction."""
    if key not in SORT_KEYS:
        raise ValueError(f"unknown sort key {key!r}; expected one of {', '.join(SORT_KEYS)}")
    if key == "name":
        return sorted(rows, key=lambda r: r.name.lower(), reverse=descending)
    if key == "sessions":
        return sorted(rows, key=lambda r: (r.sessions, r.name.lower()), reverse=descending)

    def metric(row: HeatRow) -> float | None:
        cell = row.cell(skill)
        if cell is None:
            return None
        return cell.latest if key == "latest" else cell.change

    present = [r for r in rows if metric(r) is not None]
    missing = sorted((r for r in rows if metric(r) is None), key=lambda r: r.name.lower())
    present.sort(key=lambda r: (metric(r), r.name.lower()), reverse=descending)
    return present + missing


@dataclass
class Trajectory:
    skill: str
    lines: dict[int, list[float]]  # trainee -> values by session ordinal (1st, 2nd, ...)
    median: list[float | None]  # cohort median per ordinal
    counts: list[int]  # trainees contributing to each ordinal
    target: float | None = None


def trajectories(*, values: Iterable[SessionValue], skills: list[str], targets: dict[str, float] | None = None,
                 min_trainees: int = 1, grouped: Grouped | None = None) -> list[Trajectory]:
    """Per skill: each trainee's values by session ordinal and the cohort median at each ordinal
    (over the trainees who reached it; None below ``min_trainees``)."""
    grouped = grouped if grouped is not None else values_by_trainee(values)
    out = []
    for skill in skills:
        lines = {t: [v.value for v in per.get(skill, [])] for t, per in grouped.items() if per.get(skill)}
        length = max((len(line) for line in lines.values()), default=0)
        med, counts = [], []
        for i in range(length):
            column = [line[i] for line in lines.values() if len(line) > i]
            counts.append(len(column))
            med.append(round(median(column), 3) if len(column) >= min_trainees else None)
        out.append(Trajectory(skill=skill, lines=lines, median=med, counts=counts, target=(targets or {}).get(skill)))
    return out


@dataclass
class SkillSummary:
    skill: str
    mean_latest: float | None  # mean over trainees of their latest value
    trainees: int
    below_target: int = 0
    target: float | None = None
    labels: dict[str, int] = field(default_factory=dict)  # rating -> how many items


def skill_summaries(*, rows: list[HeatRow], skills: list[str], targets: dict[str, float] | None = None,
                    distributions: dict[str, dict[str, int]] | None = None) -> list[SkillSummary]:
    out = []
    for skill in skills:
        latest = [c.latest for r in rows if (c := r.cell(skill)) is not None and c.latest is not None]
        target = (targets or {}).get(skill)
        out.append(SkillSummary(
            skill=skill, mean_latest=round(sum(latest) / len(latest), 3) if latest else None, trainees=len(latest),
            below_target=sum(1 for v in latest if target is not None and v < target), target=target,
            labels=dict((distributions or {}).get(skill, {})),
        ))
    return out


def weakest_skills(*, summaries: list[SkillSummary], count: int = 3) -> list[SkillSummary]:
    """The skills with the lowest mean latest value (relative to the target when there is one)."""
    scored = [s for s in summaries if s.mean_latest is not None]

    def gap(s: SkillSummary) -> float:
        return s.mean_latest - s.target if s.target is not None else s.mean_latest - 1.0

    return sorted(scored, key=lambda s: (gap(s), s.skill))[:count]


def label_distribution(*, counts: Iterable[tuple[str, str, int]], corrections: Iterable[tuple[str, str, str]] = ()) -> dict[str, dict[str, int]]:
    """skill -> label -> items, from (skill, engine label, n) counts, moved by (skill, engine, effective) corrections."""
    out: dict[str, dict[str, int]] = {}
    for skill, label, n in counts:
        out.setdefault(skill, {})[label] = out.setdefault(skill, {}).get(label, 0) + n
    for skill, engine, effective in corrections:
        if engine == effective:
            continue
        per = out.setdefault(skill, {})
        per[engine] = per.get(engine, 0) - 1
        per[effective] = per.get(effective, 0) + 1
        if per[engine] <= 0:
            del per[engine]
    return out


# --- per-session values from aggregates --------------------------------------------------------------------------


def rubric_values(*, sums: Iterable[tuple[int, str, float, int]], corrections: Iterable[tuple[int, str, float | None, float | None]],
                  sessions: dict[int, tuple[int, dt.datetime]]) -> list[SessionValue]:
    """Session values from (session, skill, score sum, scored items) and corrections
    (session, skill, engine score, effective score): a corrected item's engine score
    is taken out of the sum and the instructor's put in."""
    acc: dict[tuple[int, str], list[float]] = {}
    for session_id, skill, total, n in sums:
        acc[(session_id, skill)] = [float(total or 0.0), int(n or 0)]
    for session_id, skill, engine, effective in corrections:
        entry = acc.setdefault((session_id, skill), [0.0, 0])
        if engine is not None:
            entry[0] -= engine
            entry[1] -= 1
        if effective is not None:
            entry[0] += effective
            entry[1] += 1
    out = []
    for (session_id, skill), (total, n) in acc.items():
        if n <= 0 or session_id not in sessions:
            continue
        trainee_id, started_at = sessions[session_id]
        out.append(SessionValue(trainee_id=trainee_id, session_id=session_id, started_at=started_at, skill=skill,
                                value=round(total / n, 3), n=n))
    return out


def coded_turn(labels: dict[str, str]) -> dict:
    """A coded turn's behaviour and its own sub-code from its effective labels (skill -> label)."""
    behaviour = labels.get("behaviour", "")
    family = SUBTYPE_FAMILY.get(behaviour)
    return {"behaviour": behaviour, "family": family, "subtype": labels.get(family, "") if family else ""}


def rubric_values_from_rollups(*, rollups: dict[int, dict], sessions: dict[int, tuple[int, dt.datetime]],
                               score) -> tuple[list[SessionValue], dict[str, dict[str, int]]]:
    """Session values (mean label score per skill) and rating counts per skill from rubric rollups
    ({"skills": {skill: {label: n}}}, effective labels); ``score(skill, label)`` -> float | None
    (called once per distinct pair)."""
    values: list[SessionValue] = []
    counts: dict[str, dict[str, int]] = {}  # skill -> label -> items, over every session
    scores: dict[str, dict[str, float | None]] = {}  # skill -> label -> score
    append = values.append
    missing = object()
    # perf: the hot loop of the cohort dashboard (sessions x skills x labels); the per-skill dicts are
    # looked up once per skill, not per label.
    for session_id, data in rollups.items():
        where = sessions.get(session_id)
        skills = data.get("skills") if where is not None else None
        if not skills:
            continue
        trainee_id, started_at = where
        for skill, labels in skills.items():
            skill_scores = scores.get(skill)
            if skill_scores is None:
                skill_scores = scores[skill] = {}
                counts[skill] = {}
            skill_counts = counts[skill]
            total, n = 0.0, 0
            for label, count in labels.items():
                skill_counts[label] = skill_counts.get(label, 0) + count
                value = skill_scores.get(label, missing)
                if value is missing:
                    value = skill_scores[label] = score(skill, label)
                if value is not None:
                    total += value * count
                    n += count
            if n:
                append(SessionValue(trainee_id, session_id, started_at, skill, round(total / n, 3), n))
    return values, {skill: labels for skill, labels in counts.items() if labels}


def miti_values_from_rollups(*, rollups: dict[int, dict], sessions: dict[int, tuple[int, dt.datetime]],
                             summarize) -> tuple[list[SessionValue], dict[str, dict[str, int]]]:
    """MITI figures per session and code counts from behaviour-coding rollups ({"codes": {"behaviour|subtype": n}})."""
    codes: list[tuple[int, dict]] = []
    dist: dict[str, dict[str, int]] = {}
    for session_id, data in rollups.items():
        for key, count in (data.get("codes") or {}).items():
            behaviour, _, subtype = key.partition("|")
            family = SUBTYPE_FAMILY.get(behaviour)
            code = {"behaviour": behaviour, "family": family, "subtype": subtype}
            codes.extend([(session_id, code)] * count)
            if behaviour:
                dist.setdefault("behaviour", {})[behaviour] = dist.setdefault("behaviour", {}).get(behaviour, 0) + count
            if family and subtype:
                dist.setdefault(family, {})[subtype] = dist.setdefault(family, {}).get(subtype, 0) + count
    return miti_values(codes=codes, sessions=sessions, summarize=summarize), dist


MITI_KEYS = ("reflection_to_question_ratio", "percent_complex_reflections", "percent_open_questions")
MITI_NAMES = {"reflection_to_question_ratio": "Reflections : questions", "percent_complex_reflections": "% complex reflections",
              "percent_open_questions": "% open questions"}


def miti_values(*, codes: Iterable[tuple[int, dict]], sessions: dict[int, tuple[int, dt.datetime]], summarize) -> list[SessionValue]:
    """MITI figures per session from (session, {"behaviour", "subtype"}) codes; ``summarize`` is
    the MITI summary function (codes, targets) -> {"rows": [{"key", "value"}]}."""
    per: dict[int, list[dict]] = {}
    for session_id, code in codes:
        per.setdefault(session_id, []).append(code)
    out = []
    for session_id, session_codes in per.items():
        if session_id not in sessions:
            continue
        trainee_id, started_at = sessions[session_id]
        for row in summarize(codes=session_codes, targets={})["rows"]:
            if row["value"] is not None:
                out.append(SessionValue(trainee_id=trainee_id, session_id=session_id, started_at=started_at,
                                        skill=row["key"], value=float(row["value"]), n=len(session_codes)))
    return out


# --- practice volume ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionFact:
    session_id: int
    trainee_id: int
    started_at: dt.datetime
    ended_at: dt.datetime | None
    status: str
    exam: bool
    voice_turns: int
    text_turns: int
    last_turn_at: dt.datetime | None = None

    @property
    def minutes(self) -> float:
        """Start to end (or to the last turn when never ended)."""
        end = self.ended_at or self.last_turn_at
        if end is None or end < self.started_at:
            return 0.0
        return (end - self.started_at).total_seconds() / 60.0


@dataclass
class WeekVolume:
    week: dt.date  # Monday
    sessions: int = 0
    completed: int = 0
    minutes: float = 0.0
    voice_turns: int = 0
    text_turns: int = 0
    trainees: int = 0


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def weekly_volume(*, facts: Iterable[SessionFact], start: dt.date | None = None, end: dt.date | None = None) -> list[WeekVolume]:
    """Sessions, completed sessions, minutes, voice / text trainee turns and active trainees per week;
    weeks without sessions between the first and last are included (as zeros)."""
    facts = list(facts)
    days = [f.started_at.date() for f in facts]
    if start is None and days:
        start = min(days)
    if end is None and days:
        end = max(days)
    if start is None or end is None:
        return []
    weeks: dict[dt.date, WeekVolume] = {}
    w = week_start(start)
    while w <= week_start(end):
        weeks[w] = WeekVolume(week=w)
        w += dt.timedelta(days=7)
    active: dict[dt.date, set[int]] = {}
    for f in facts:
        key = week_start(f.started_at.date())
        if key not in weeks:
            continue
        row = weeks[key]
        row.sessions += 1
        row.completed += f.status == "ended"
        row.minutes = round(row.minutes + f.minutes, 1)
        row.voice_turns += f.voice_turns
        row.text_turns += f.text_turns
        active.setdefault(key, set()).add(f.trainee_id)
    for key, ids in active.items():
        weeks[key].trainees = len(ids)
    return list(weeks.values())


@dataclass
class Engagement:
    sessions: int
    completed: int
    completion_rate: float | None
    trainees_practised: int
    trainees_total: int
    dropped: list[int]  # trainees who practised before the cut-off but not after
    never: list[int]  # trainees who never practised in the range


def engagement(*, facts: Iterable[SessionFact], trainee_ids: Iterable[int], cutoff: dt.datetime) -> Engagement:
    """Completion (ended / started) and drop-off: trainees who practised before ``cutoff`` and not since."""
    facts = list(facts)
    ids = list(trainee_ids)
    before = {f.trainee_id for f in facts if f.started_at < cutoff}
    after = {f.trainee_id for f in facts if f.started_at >= cutoff}
    completed = sum(1 for f in facts if f.status == "ended")
    practised = before | after
    return Engagement(
        sessions=len(facts), completed=completed, completion_rate=round(completed / len(facts), 3) if facts else None,
        trainees_practised=len(practised), trainees_total=len(ids),
        dropped=[t for t in ids if t in before and t not in after], never=[t for t in ids if t not in practised],
    )


def strengths_and_next(*, cells: list[HeatCell], count: int = 3) -> tuple[list[HeatCell], list[HeatCell]]:
    """A trainee's strongest skills (latest value, highest first) and the next to work on (lowest first)."""
    known = [c for c in cells if c.latest is not None]
    strong = sorted(known, key=lambda c: (-c.latest, c.skill))[:count]
    weak = sorted((c for c in known if c not in strong or len(known) > count), key=lambda c: (c.latest, c.skill))[:count]
    return strong, weak


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default); None when empty."""
    vals = sorted(values)
    if not vals:
        return None
    k = (len(vals) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(vals) - 1)
    return round(vals[lo] + (vals[hi] - vals[lo]) * (k - lo), 1)
