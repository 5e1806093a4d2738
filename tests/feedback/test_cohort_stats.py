"""Pure analytics computations (no database): heatmap cells, sorting, trajectories and medians,
rollup arithmetic with corrections, MITI figures, weekly volume, drop-off, formatting."""

from __future__ import annotations

import datetime as dt

import pytest

from feedback import cohort_charts
from feedback import cohort_stats as stats
from feedback.scoring import label_score, miti_summary

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


def v(trainee, session, day, skill, value):
    return stats.SessionValue(trainee, session, T0 + dt.timedelta(days=day), skill, value)


VALUES = [
    v(1, 11, 0, "a", 0.0), v(1, 12, 2, "a", 0.5), v(1, 13, 4, "a", 1.0), v(1, 11, 0, "b", 0.5),
    v(2, 21, 1, "a", 0.5), v(2, 22, 3, "a", 0.25),
]


def test_heatmap_cells_first_latest_best_and_change():
    rows = stats.heatmap_rows(values=VALUES, trainees={1: "ann", 2: "bob", 3: "cy"}, skills=["a", "b"])
    ann, bob, cy = rows
    assert (ann.cell("a").first, ann.cell("a").latest, ann.cell("a").best, ann.cell("a").change) == (0.0, 1.0, 1.0, 1.0)
    assert ann.cell("b").change is None  # one session: no change to show
    assert bob.cell("a").change == -0.25 and bob.cell("a").latest_session_id == 22
    assert ann.sessions == 3 and cy.sessions == 0 and cy.cell("a").latest is None


def test_heatmap_sort_keeps_missing_values_last_in_both_directions():
    rows = stats.heatmap_rows(values=VALUES, trainees={1: "ann", 2: "bob", 3: "cy"}, skills=["a", "b"])
    assert [r.name for r in stats.heatmap_sort(rows=rows, key="latest", skill="a")] == ["bob", "ann", "cy"]
    assert [r.name for r in stats.heatmap_sort(rows=rows, key="latest", skill="a", descending=True)] == ["ann", "bob", "cy"]
    assert [r.name for r in stats.heatmap_sort(rows=rows, key="change", skill="b")] == ["ann", "bob", "cy"]
    assert [r.name for r in stats.heatmap_sort(rows=rows, key="name", descending=True)] == ["cy", "bob", "ann"]
    with pytest.raises(ValueError, match="unknown sort key 'best'"):
        stats.heatmap_sort(rows=rows, key="best")


def test_trajectories_median_per_session_ordinal_over_the_trainees_who_reached_it():
    (a, b) = stats.trajectories(values=VALUES, skills=["a", "b"], targets={"a": 0.8})
    assert a.lines == {1: [0.0, 0.5, 1.0], 2: [0.5, 0.25]}
    assert a.median == [0.25, 0.375, 1.0] and a.counts == [2, 2, 1] and a.target == 0.8
    assert b.median == [0.5] and b.target is None


def test_rubric_values_from_rollups_score_effective_label_counts():
    labels = ["strong", "weak", "absent"]
    rollups = {11: {"skills": {"a": {"strong": 1, "weak": 2, "absent": 1}, "b": {"odd": 3}}}, 99: {"skills": {"a": {"strong": 1}}}}
    values, dist = stats.rubric_values_from_rollups(rollups=rollups, sessions={11: (1, T0)},
                                                    score=lambda skill, label: label_score(label=label, labels=labels))
    assert values == [stats.SessionValue(1, 11, T0, "a", 0.5, 4)]  # (1 + 0.5 + 0.5 + 0) / 4; b unscored; 99 not in scope
    assert dist == {"a": {"strong": 1, "weak": 2, "absent": 1}, "b": {"odd": 3}}


def test_rubric_values_apply_corrections_to_sums():
    values = stats.rubric_values(sums=[(11, "a", 1.5, 3)], corrections=[(11, "a", 0.0, 1.0), (11, "a", 0.5, None)],
                                 sessions={11: (1, T0)})
    assert values[0].value == round(2.0 / 2, 3) and values[0].n == 2


def test_label_distribution_moves_corrected_items():
    dist = stats.label_distribution(counts=[("a", "weak", 2), ("a", "strong", 1)], corrections=[("a", "weak", "strong"), ("a", "weak", "weak")])
    assert dist == {"a": {"weak": 1, "strong": 2}}


def test_miti_values_from_code_counts():
    rollups = {11: {"codes": {"reflection|complex": 2, "reflection|simple": 1, "question|open": 1, "question|closed": 1, "other|": 1}}}
    values, dist = stats.miti_values_from_rollups(rollups=rollups, sessions={11: (1, T0)}, summarize=miti_summary)
    by = {x.skill: x.value for x in values}
    assert by == {"reflection_to_question_ratio": 1.5, "percent_complex_reflections": 67.0, "percent_open_questions": 50.0}
    assert dist["behaviour"] == {"reflection": 3, "question": 2, "other": 1} and dist["question"] == {"open": 1, "closed": 1}
    assert stats.coded_turn({"behaviour": "question", "question": "open", "reflection": "complex"}) == {
        "behaviour": "question", "family": "question", "subtype": "open"}


def fact(session, trainee, day, status="ended", minutes=10, voice=1, text=2):
    start = T0 + dt.timedelta(days=day)
    return stats.SessionFact(session, trainee, start, start + dt.timedelta(minutes=minutes) if status == "ended" else None,
                             status, False, voice, text, last_turn_at=start + dt.timedelta(minutes=3))


def test_weekly_volume_fills_empty_weeks_and_counts_voice_and_minutes():
    facts = [fact(1, 1, 0), fact(2, 2, 1, status="active"), fact(3, 1, 15)]
    weeks = stats.weekly_volume(facts=facts)
    assert [w.week.isoformat() for w in weeks] == ["2026-03-02", "2026-03-09", "2026-03-16"]
    first = weeks[0]
    assert (first.sessions, first.completed, first.minutes, first.voice_turns, first.text_turns, first.trainees) == (2, 1, 13.0, 2, 4, 2)
    assert weeks[1].sessions == 0


def test_engagement_completion_and_drop_off():
    facts = [fact(1, 1, 0), fact(2, 2, 1, status="active"), fact(3, 1, 20)]
    e = stats.engagement(facts=facts, trainee_ids=[1, 2, 3], cutoff=T0 + dt.timedelta(days=10))
    assert (e.sessions, e.completed, e.completion_rate) == (3, 2, 0.667)
    assert e.dropped == [2] and e.never == [3] and e.trainees_practised == 2


def test_weakest_skills_relative_to_target():
    s = [stats.SkillSummary("a", 0.6, 3, target=0.8), stats.SkillSummary("b", 0.5, 3), stats.SkillSummary("c", None, 0)]
    assert [x.skill for x in stats.weakest_skills(summaries=s, count=2)] == ["b", "a"]


def test_strengths_and_next_skills():
    cells = [stats.HeatCell("a", latest=0.9), stats.HeatCell("b", latest=0.2), stats.HeatCell("c", latest=0.5), stats.HeatCell("d")]
    strong, weak = stats.strengths_and_next(cells=cells, count=1)
    assert [c.skill for c in strong] == ["a"] and [c.skill for c in weak] == ["b"]


def test_formatting_reads_without_colour():
    assert cohort_charts.format_value(0.456, "score") == "46%" and cohort_charts.format_value(None, "score") == "–"
    assert cohort_charts.format_value(1.234, "ratio") == "1.23" and cohort_charts.format_value(40, "percent") == "40%"
    assert cohort_charts.format_change(0.25, "score") == "▲ +25 pts"
    assert cohort_charts.format_change(-5.0, "percent") == "▼ -5 pts"
    assert cohort_charts.format_change(0.0, "ratio") == "= +0.00"
    assert cohort_charts.shade(None, "score", None) == -1 and cohort_charts.shade(1.0, "score", None) == 4
    assert cohort_charts.shade(0.1, "score", None) == 0


def test_percentile_interpolates():
    assert stats.percentile([1, 2, 3, 4], 50) == 2.5 and stats.percentile([], 95) is None
