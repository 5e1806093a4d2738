"""SVG chart geometry (pure): coordinates, ticks, merged per-trainee paths, stacked bars."""

from __future__ import annotations

from feedback import charts, cohort_charts
from feedback import cohort_stats as stats


def test_line_chart_maps_values_into_the_plot_area():
    plot = charts.Plot(width=140, height=120, left=20, right=20, top=10, bottom=10)
    chart = charts.line_chart(series=[("median", [0.0, 0.5, 1.0], "median")], y_min=0, y_max=1, plot=plot)
    (line,) = chart.lines
    assert line.points == "20.0,110.0 70.0,60.0 120.0,10.0"
    assert line.dots == [(20.0, 110.0), (70.0, 60.0), (120.0, 10.0)] and (line.end_x, line.end_y) == (120.0, 10.0)
    assert [t.label for t in chart.y_ticks] == ["0%", "25%", "50%", "75%", "100%"]
    assert [t.label for t in chart.x_ticks] == ["1", "2", "3"]


def test_line_chart_merges_faint_lines_breaks_on_none_and_draws_target():
    chart = charts.line_chart(series=[("t1", [0.2, None, 0.4], "faint"), ("t2", [0.3], "faint"), ("m", [0.25, 0.3, 0.4], "median")],
                              y_max=1, target=0.8)
    assert chart.faint_count == 2 and chart.faint_path.count("M") == 2
    assert len(chart.lines) == 1 and chart.target_y is not None and chart.target_y < chart.plot.y0


def test_line_chart_clamps_and_handles_empty_and_single_points():
    empty = charts.line_chart(series=[("m", [None, None], "median")])
    assert empty.empty and empty.lines == []
    one = charts.line_chart(series=[("m", [5.0], "median")], y_max=1)
    assert one.lines[0].points == f"{(one.plot.x0 + one.plot.x1) / 2},{float(one.plot.y1)}"


def test_nice_max():
    assert [charts.nice_max(x) for x in (0, 0.7, 1, 3, 7, 12, 240)] == [1.0, 1.0, 1.0, 5.0, 10.0, 20.0, 250.0]


def test_stacked_bars_heights_sum_to_the_total():
    plot = charts.Plot(width=120, height=110, left=10, right=10, top=10, bottom=0)
    chart = charts.stacked_bars(categories=["w1", "w2"], stacks=[("voice", "pattern-0", [2, 0]), ("text", "pattern-1", [2, 1])], plot=plot)
    first, second = chart.bars
    assert [s.h for s in first.segments] == [40.0, 40.0] and first.total == 4  # y max 5 over 100 px
    assert [s.label for s in second.segments] == ["text"] and chart.legend == [("pattern-0", "voice"), ("pattern-1", "text")]


def test_distribution_bars_are_100_percent_wide_with_counts():
    (row,) = charts.distribution_bars(rows=[("Assert", {"strong": 1, "absent": 3})], labels=["strong", "weak", "absent"], width=100)
    assert [(s.label, s.w, s.value) for s in row.segments] == [("strong", 25.0, 1), ("absent", 75.0, 3)] and row.total == 4


def test_persona_state_chart_and_table():
    chart = cohort_charts.persona_state_chart(history=[{"turn": 1, "trust": 0.2, "level": 0, "mood": "guarded"},
                                                       {"turn": 3, "trust": 0.6, "level": 3, "mood": "open", "concession": 0.4}])
    assert [line.label for line in chart.chart.lines] == ["trust", "disclosure level", "concession"]
    assert chart.table[1] == {"turn": 3, "trust": "60%", "level": "intermediate beliefs", "mood": "open", "concession": "40%"}
    assert cohort_charts.persona_state_chart(history=[]) is None


def test_trajectory_chart_table_matches_the_median():
    traj = stats.Trajectory(skill="a", lines={1: [0.0, 1.0], 2: [0.5]}, median=[0.25, 1.0], counts=[2, 1], target=0.8)
    chart = cohort_charts.trajectory_chart(trajectory=traj, name="A", unit="score")
    assert chart.table == [{"ordinal": 1, "median": "25%", "trainees": 2, "target": "80%"},
                           {"ordinal": 2, "median": "100%", "trainees": 1, "target": "80%"}]
    assert chart.chart.faint_count == 2 and chart.chart.target_label == "target 80%"


def test_a_large_cohort_trajectory_draws_the_middle_half_not_a_line_per_trainee():
    # 50 trainees: values 0.00, 0.02, ..., 0.98 at the 1st session; only 3 reach a 2nd (too few for quartiles)
    lines = {t: [t / 50] + ([0.5] if t < 3 else []) for t in range(50)}
    traj = stats.Trajectory(skill="a", lines=lines, median=[0.49, 0.5], counts=[50, 3])
    chart = cohort_charts.trajectory_chart(trajectory=traj, name="A", unit="score")
    assert chart.quartiles and chart.chart.faint_count == 0 and not chart.chart.faint_path
    by_label = {line.label: line for line in chart.chart.lines}
    assert set(by_label) == {"25th percentile", "75th percentile", "cohort median"}
    low, high = (cohort_charts._quartile_series(lines, 2))
    assert low == [0.245, None] and high == [0.735, None]
    assert len(by_label["25th percentile"].points.split()) == 1  # the 2nd session has no quartiles
    small = cohort_charts.trajectory_chart(trajectory=stats.Trajectory(skill="a", lines=dict(list(lines.items())[:40]),
                                                                       median=[0.4], counts=[40]), name="A", unit="score")
    assert not small.quartiles and small.chart.faint_count == 40
