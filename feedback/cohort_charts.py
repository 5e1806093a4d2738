"""The analytics pages' charts (pure): cohort_stats results turned into chart
geometry (feedback.charts) plus the rows of the data table behind each chart."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import quantiles

from feedback import charts
from feedback import cohort_stats as stats

PERSONA_LEVELS = ["surface", "situation", "automatic thoughts", "intermediate beliefs", "core beliefs"]


def format_value(value: float | None, unit: str) -> str:
    """A value as the pages and exports show it: scores and percentages as whole %, ratios to 2 places."""
    if value is None:
        return "–"
    if unit == "score":
        return f"{round(value * 100)}%"
    if unit == "percent":
        return f"{round(value)}%"
    return f"{value:.2f}"


def format_change(value: float | None, unit: str) -> str:
    """Signed change with a text arrow (readable without colour): points for scores, the unit otherwise."""
    if value is None:
        return ""
    amount = value * 100 if unit == "score" else value
    if unit in ("score", "percent"):
        text = f"{round(amount):+d} pts"
    else:
        text = f"{amount:+.2f}"
    arrow = "▲" if amount > 0.0049 else "▼" if amount < -0.0049 else "="
    return f"{arrow} {text}"


def shade(value: float | None, unit: str, target: float | None) -> int:
    """0..4 shade bucket for a heat cell (text carries the value; the shade only helps scanning)."""
    if value is None:
        return -1
    if unit == "score":
        ratio = value
    elif target:
        ratio = min(value / (2 * target), 1.0)
    else:
        ratio = min(value / 100.0, 1.0) if unit == "percent" else min(value / 2.0, 1.0)
    return max(0, min(4, int(ratio * 5 - 1e-9))) if ratio < 1 else 4


@dataclass
class TrajectoryChart:
    skill: str
    name: str
    unit: str
    chart: charts.LineChart
    table: list[dict] = field(default_factory=list)  # per session ordinal: median, trainees, target
    quartiles: bool = False  # the 25th-75th percentile lines stand in for one line per trainee


# Above this many trainees a chart draws the middle half of the cohort (25th-75th percentile lines)
# instead of one faint line each: hundreds of lines say nothing more and weighed ~50 KB per chart.
FAINT_LINES_MAX = 40


def _quartile_series(lines: dict[int, list[float]], length: int) -> tuple[list[float | None], list[float | None]]:
    low, high = [], []
    for i in range(length):
        column = sorted(line[i] for line in lines.values() if len(line) > i)
        if len(column) < 4:
            low.append(None)
            high.append(None)
            continue
        q1, _q2, q3 = quantiles(column, n=4, method="inclusive")
        low.append(round(q1, 3))
        high.append(round(q3, 3))
    return low, high


def trajectory_chart(*, trajectory: stats.Trajectory, name: str, unit: str, trainee_names: dict[int, str] | None = None,
                     max_lines: int = FAINT_LINES_MAX) -> TrajectoryChart:
    """Faint line per trainee (or, past ``max_lines`` trainees, the 25th and 75th percentile),
    bold median with dots, dotted target."""
    names = trainee_names or {}
    if len(trajectory.lines) > max_lines:
        low, high = _quartile_series(trajectory.lines, len(trajectory.median))
        series = [("25th percentile", low, "quartile"), ("75th percentile", high, "quartile")]
    else:
        series = [(names.get(t, str(t)), list(values), "faint") for t, values in trajectory.lines.items()]
    series.append(("cohort median", list(trajectory.median), "median"))
    y_format = "percent" if unit == "score" else "number"
    y_max = 1.0 if unit == "score" else (100.0 if unit == "percent" else None)
    chart = charts.line_chart(series=series, y_min=0.0, y_max=y_max, y_format=y_format, target=trajectory.target,
                              target_label=f"target {format_value(trajectory.target, unit)}" if trajectory.target is not None else "")
    table = [{"ordinal": i + 1, "median": format_value(m, unit), "trainees": trajectory.counts[i],
              "target": format_value(trajectory.target, unit) if trajectory.target is not None else ""}
             for i, m in enumerate(trajectory.median)]
    return TrajectoryChart(skill=trajectory.skill, name=name, unit=unit, chart=chart, table=table,
                           quartiles=len(trajectory.lines) > max_lines)


def volume_chart(*, weeks: list[stats.WeekVolume]) -> charts.BarChart:
    """Trainee turns per week, voice and text stacked (hatched differently)."""
    return charts.stacked_bars(
        categories=[w.week.strftime("%d %b") for w in weeks],
        stacks=[("voice turns", "pattern-0", [w.voice_turns for w in weeks]), ("text turns", "pattern-1", [w.text_turns for w in weeks])],
    )


def sessions_chart(*, weeks: list[stats.WeekVolume]) -> charts.BarChart:
    """Sessions per week: completed and not completed."""
    return charts.stacked_bars(
        categories=[w.week.strftime("%d %b") for w in weeks],
        stacks=[("completed", "pattern-0", [w.completed for w in weeks]),
                ("not completed", "pattern-2", [w.sessions - w.completed for w in weeks])],
    )


def distribution_rows(*, summaries: list[stats.SkillSummary], names: dict[str, str], labels_for) -> list[dict]:
    """Per skill: a 100 % bar split by rating, with the counts in text."""
    out = []
    for summary in summaries:
        labels = list(labels_for(summary.skill))
        bar = charts.distribution_bars(rows=[(names.get(summary.skill, summary.skill), summary.labels)], labels=labels)[0]
        out.append({"skill": summary.skill, "name": names.get(summary.skill, summary.skill), "bar": bar,
                    "counts": [(label, summary.labels.get(label, 0)) for label in labels]
                    + [(k, v) for k, v in sorted(summary.labels.items()) if k not in labels]})
    return out


@dataclass
class PersonaChart:
    chart: charts.LineChart
    table: list[dict]


def persona_state_chart(*, history: list[dict]) -> PersonaChart | None:
    """Trust (0..1, solid) and disclosure level (0..4 scaled to 0..1, dashed) per trainee turn; mood in the table
    and as the point labels."""
    if not history:
        return None
    trust = [float(h.get("trust") or 0.0) for h in history]
    levels = [int(h.get("level") or 0) for h in history]
    concession = [h.get("concession") for h in history]
    series = [("trust", trust, "series-a"), ("disclosure level", [lv / 4 for lv in levels], "series-b")]
    if any(c for c in concession):
        series.append(("concession", [float(c or 0.0) for c in concession], "series-c"))
    chart = charts.line_chart(series=series, y_min=0.0, y_max=1.0, y_format="percent",
                              x_labels=[str(h.get("turn", i + 1)) for i, h in enumerate(history)],
                              dots_for=("series-a", "series-b", "series-c"))
    table = [{"turn": h.get("turn", i + 1), "trust": f"{round(trust[i] * 100)}%",
              "level": PERSONA_LEVELS[levels[i]] if 0 <= levels[i] < len(PERSONA_LEVELS) else levels[i],
              "mood": h.get("mood", ""), "concession": "" if concession[i] is None else f"{round(float(concession[i]) * 100)}%"}
             for i, h in enumerate(history)]
    return PersonaChart(chart=chart, table=table)


def daily_line(*, days: list[str], series: list[tuple[str, list[float | None], str]], y_format: str = "number",
               y_max: float | None = None) -> charts.LineChart:
    return charts.line_chart(series=series, x_labels=days, y_format=y_format, y_max=y_max,
                             dots_for=tuple(s[2] for s in series))
