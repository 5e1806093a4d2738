"""Reads for the instructor analytics: cohort dashboard, trainee profile, exports.

Every read here is a fixed number of queries whatever the cohort's size (aggregates
grouped by session and skill in SQL; instructor corrections fetched separately —
they are few — and applied to the aggregates in feedback.cohort_stats). Nothing
here loops over trainees or sessions with a query inside."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from django.db.models import (
    Count,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from feedback import cohort_stats as stats
from feedback.models import Assessment, AssessmentItem, Framework, Review, SessionRollup, TurnComment
from feedback.scoring import FrameworkInfo, label_score, miti_summary
from feedback.selectors.assessments import framework_infos
from feedback.services.rollups import session_rollups_ensure
from simulations.models import PracticeSession, Scenario, Turn
from trainer_app.models import Cohort
from trainer_app.roles import ADMIN, INSTRUCTOR, user_role

BEHAVIOUR_CODING = "behaviour-coding"
DASHBOARD_KINDS = ("skill-rubric", "behaviour-coding", "formulation")
MODES = (("all", "Practice and exams"), ("practice", "Practice only"), ("exam", "Exams only"))
DIFFICULTIES = ("easy", "medium", "hard")
# Which coded turns show a weak MITI figure: (skill, effective label).
MITI_EVIDENCE = {
    "percent_open_questions": ("question", "closed"),
    "percent_complex_reflections": ("reflection", "simple"),
    "reflection_to_question_ratio": ("behaviour", "question"),
}


@dataclass(frozen=True)
class CohortFilters:
    framework: str
    scenario: str = ""
    difficulty: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    mode: str = "all"


# --- access -----------------------------------------------------------------------------------------------------


def cohorts_for_viewer(*, user) -> QuerySet[Cohort]:
    """Admins: every cohort; instructors: the cohorts they own; anyone else: none."""
    role = user_role(user=user)
    if role == ADMIN:
        return Cohort.objects.all()
    if role == INSTRUCTOR:
        return Cohort.objects.filter(owner=user)
    return Cohort.objects.none()


def cohort_for_viewer(*, user, cohort_id: int) -> Cohort | None:
    return cohorts_for_viewer(user=user).select_related("owner").filter(pk=cohort_id).first()


def cohort_trainees(*, cohort: Cohort) -> dict[int, str]:
    """Members, id -> username, by username."""
    return dict(cohort.members.order_by("username").values_list("id", "username"))


# --- filter choices ---------------------------------------------------------------------------------------------


def dashboard_frameworks() -> list[tuple[str, str, str]]:
    """(slug, name, kind) of the frameworks a dashboard can show."""
    return list(Framework.objects.filter(kind__in=DASHBOARD_KINDS).order_by("name").values_list("slug", "name", "kind"))


def cohort_scenarios(*, cohort: Cohort) -> list[tuple[str, str]]:
    """(slug, title) of the scenarios assigned to the cohort or practised by its members."""
    practised = PracticeSession.objects.filter(trainee__cohorts=cohort).values("scenario_version__scenario_id")
    return list(
        Scenario.objects.filter(Q(cohorts=cohort) | Q(pk__in=practised)).distinct().order_by("title").values_list("slug", "title")
    )


# --- sessions in scope ------------------------------------------------------------------------------------------


def sessions_in_scope(*, trainee_ids, filters: CohortFilters) -> QuerySet[PracticeSession]:
    """The trainees' sessions under every filter but the framework (the dashboard keeps the sessions that
    have a rollup with ratings for it; the item export filters items by framework)."""
    sessions = PracticeSession.objects.filter(trainee_id__in=trainee_ids)
    if filters.scenario:
        sessions = sessions.filter(scenario_version__scenario__slug=filters.scenario)
    if filters.difficulty:
        sessions = sessions.filter(scenario_version__scenario_data__difficulty__level=filters.difficulty)
    if filters.date_from:
        sessions = sessions.filter(started_at__date__gte=filters.date_from)
    if filters.date_to:
        sessions = sessions.filter(started_at__date__lte=filters.date_to)
    if filters.mode == "exam":
        sessions = sessions.filter(exam=True)
    elif filters.mode == "practice":
        sessions = sessions.filter(exam=False)
    return sessions


def session_facts(*, sessions: QuerySet[PracticeSession]) -> list[stats.SessionFact]:
    trainee_turns = Q(turns__speaker=Turn.Speaker.TRAINEE)
    rows = (
        sessions.order_by()
        .values_list("pk", "trainee_id", "started_at", "ended_at", "status", "exam")
        .annotate(
            voice=Count("turns", filter=trainee_turns & Q(turns__source=Turn.Source.VOICE)),
            text=Count("turns", filter=trainee_turns & ~Q(turns__source=Turn.Source.VOICE)),
            last=Max("turns__created_at"),
        )
    )
    return [stats.SessionFact(session_id=r[0], trainee_id=r[1], started_at=r[2], ended_at=r[3], status=r[4], exam=r[5],
                              voice_turns=r[6], text_turns=r[7], last_turn_at=r[8]) for r in rows]


# --- per-session values -----------------------------------------------------------------------------------------


def _latest_review_label():
    latest = Review.objects.filter(item=OuterRef("pk")).order_by("-created_at", "-id").values("corrected_label")[:1]
    return Coalesce(NullIf(Subquery(latest), Value("")), F("label"))


def _items(*, sessions, slugs: list[str]) -> QuerySet[AssessmentItem]:
    return AssessmentItem.objects.filter(assessment__framework_slug__in=slugs, assessment__turn__session__in=sessions)


@dataclass
class Values:
    """Per-session values of one framework, with what was needed to compute them."""

    framework: FrameworkInfo
    values: list[stats.SessionValue]
    distributions: dict[str, dict[str, int]]
    skills: list[str]
    units: dict[str, str]  # skill -> "score" | "percent" | "ratio"
    targets: dict[str, float]
    rollups: dict[int, dict] = field(default_factory=dict)  # session -> rollup data


def _targets(info: FrameworkInfo, skills: list[str]) -> dict[str, float]:
    out = {}
    for key, value in (info.targets or {}).items():
        try:
            if key in skills:
                out[key] = float(value)
        except (TypeError, ValueError):
            continue
    return out


def framework_values(*, sessions: QuerySet[PracticeSession], framework: FrameworkInfo,
                     session_index: dict[int, tuple[int, dt.datetime]]) -> Values:
    return frameworks_values(sessions=sessions, frameworks=[framework], session_index=session_index)[framework.slug]


def frameworks_values(*, sessions: QuerySet[PracticeSession], frameworks: list[FrameworkInfo],
                      session_index: dict[int, tuple[int, dt.datetime]]) -> dict[str, Values]:
    """Per-session values for each framework from the session rollups (built when missing):
    a fixed number of queries for any number of frameworks and sessions."""
    session_rollups_ensure(sessions=sessions, kinds={f.slug: f.kind for f in frameworks})
    rollups: dict[str, dict[int, dict]] = {f.slug: {} for f in frameworks}
    for session_id, slug, data in SessionRollup.objects.filter(
            session__in=sessions.values("pk"), framework_slug__in=list(rollups)).values_list("session_id", "framework_slug", "data"):
        rollups[slug][session_id] = data
    return {info.slug: _values(info=info, per_session=rollups[info.slug], session_index=session_index) for info in frameworks}


def _values(*, info: FrameworkInfo, per_session: dict[int, dict], session_index: dict[int, tuple[int, dt.datetime]]) -> Values:
    if info.kind == BEHAVIOUR_CODING:
        skills = list(stats.MITI_KEYS)
        values, dist = stats.miti_values_from_rollups(rollups=per_session, sessions=session_index, summarize=miti_summary)
        units = {"reflection_to_question_ratio": "ratio", "percent_complex_reflections": "percent", "percent_open_questions": "percent"}
    else:
        values, dist = stats.rubric_values_from_rollups(
            rollups=per_session, sessions=session_index,
            score=lambda skill, label, info=info: label_score(label=label, labels=info.skill_labels(skill)))
        seen = {v.skill for v in values} | set(dist)
        skills = list(info.skills) + sorted(s for s in seen if s not in info.skills)
        units = {s: "score" for s in skills}
    return Values(framework=info, values=values, distributions=dist, skills=skills, units=units,
                  targets=_targets(info, skills), rollups=per_session)


# --- the dashboard ----------------------------------------------------------------------------------------------


@dataclass
class EvidenceTurn:
    session_id: int
    turn_index: int
    trainee: str
    text: str
    label: str


@dataclass
class CohortDashboard:
    cohort: Cohort
    filters: CohortFilters
    framework: FrameworkInfo | None
    trainees: dict[int, str]
    skills: list[str] = field(default_factory=list)
    skill_names: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    targets: dict[str, float] = field(default_factory=dict)
    rows: list[stats.HeatRow] = field(default_factory=list)
    trajectories: list[stats.Trajectory] = field(default_factory=list)
    summaries: list[stats.SkillSummary] = field(default_factory=list)
    weakest: list[stats.SkillSummary] = field(default_factory=list)
    evidence: dict[str, list[EvidenceTurn]] = field(default_factory=dict)
    facts: list[stats.SessionFact] = field(default_factory=list)
    weeks: list[stats.WeekVolume] = field(default_factory=list)
    engagement: stats.Engagement | None = None
    values: list[stats.SessionValue] = field(default_factory=list)
    distributions: dict[str, dict[str, int]] = field(default_factory=dict)  # skill (or code family) -> rating -> items


def skill_names_for(*, framework: FrameworkInfo, skills: list[str]) -> dict[str, str]:
    if framework.kind == BEHAVIOUR_CODING:
        return {s: stats.MITI_NAMES.get(s, s) for s in skills}
    return {s: framework.skill_name(s) for s in skills}


def evidence_turns(*, framework: FrameworkInfo, skills: list[str], rollups: dict[int, dict],
                   session_index: dict[int, tuple[int, dt.datetime]], per_skill: int = 5) -> dict[str, list[EvidenceTurn]]:
    """Recent turns that show each given skill at its weakest rating (effective): the rollups name the
    latest sessions that have such a turn, then one query per skill named (the caller names at most three)."""
    out: dict[str, list[EvidenceTurn]] = {}
    for skill in skills:
        if framework.kind == BEHAVIOUR_CODING:
            code_skill, label = MITI_EVIDENCE.get(skill, ("", ""))
            if not code_skill:
                continue
            key = f"{label}|" if code_skill == "behaviour" else f"{code_skill}|{label}"
            has = [s for s, data in rollups.items()
                   if any(k.startswith(key) if code_skill == "behaviour" else k == key for k in (data.get("codes") or {}))]
        else:
            labels = framework.skill_labels(skill)
            code_skill, label = skill, (labels[-1] if labels else "")
            has = [s for s, data in rollups.items() if ((data.get("skills") or {}).get(skill) or {}).get(label)]
        recent = sorted((s for s in has if s in session_index), key=lambda s: session_index[s][1], reverse=True)[:per_skill]
        if not recent:
            out[skill] = []
            continue
        rows = (
            AssessmentItem.objects.filter(assessment__framework_slug=framework.slug, assessment__turn__session_id__in=recent, skill=code_skill)
            .annotate(effective=_latest_review_label()).filter(effective=label)
            .order_by("-assessment__turn__created_at")
            .values_list("assessment__turn__session_id", "assessment__turn__index",
                         "assessment__turn__session__trainee__username", "assessment__turn__text", "effective")[:per_skill]
        )
        out[skill] = [EvidenceTurn(session_id=r[0], turn_index=r[1], trainee=r[2], text=r[3], label=r[4]) for r in rows]
    return out


def _rated(data: dict) -> bool:
    return bool(data.get("skills") or data.get("codes"))


def _fact_from_rollup(row) -> stats.SessionFact:
    session_id, trainee_id, started_at, ended_at, status, exam, data = row
    turns = data.get("turns") or {}
    last = turns.get("last")
    return stats.SessionFact(session_id=session_id, trainee_id=trainee_id, started_at=started_at, ended_at=ended_at, status=status,
                             exam=exam, voice_turns=turns.get("voice", 0), text_turns=turns.get("text", 0),
                             last_turn_at=dt.datetime.fromisoformat(last) if last else None)


def cohort_dashboard(*, cohort: Cohort, filters: CohortFilters, now: dt.datetime | None = None,
                     with_evidence: bool = True) -> CohortDashboard:
    """Everything the dashboard shows, in a fixed number of queries: the sessions' rollups for the
    framework (built when missing) joined with the session fields, then pure computation."""
    trainees = cohort_trainees(cohort=cohort)
    info = framework_infos(slugs=[filters.framework])[filters.framework] if filters.framework else None
    dash = CohortDashboard(cohort=cohort, filters=filters, framework=info, trainees=trainees)
    sessions = sessions_in_scope(trainee_ids=list(trainees), filters=filters)
    now = now or timezone.now()
    per_session: dict[int, dict] = {}
    if info is None:
        dash.facts = session_facts(sessions=sessions)
    else:
        session_rollups_ensure(sessions=sessions, kinds={info.slug: info.kind})
        rows = list(SessionRollup.objects.filter(framework_slug=info.slug, session__in=sessions.values("pk"))
                    .annotate(raw=Cast("data", TextField())).values_list(
                        "session_id", "session__trainee_id", "session__started_at", "session__ended_at", "session__status",
                        "session__exam", "raw"))
        # One JSON parse for every row (thousands of small documents) instead of one per row.
        datas = json.loads("[" + ",".join(row[-1] for row in rows) + "]") if rows else []
        for row, data in zip(rows, datas, strict=True):
            if _rated(data):
                dash.facts.append(_fact_from_rollup((*row[:-1], data)))
                per_session[row[0]] = data
    index = {f.session_id: (f.trainee_id, f.started_at) for f in dash.facts}
    dash.weeks = stats.weekly_volume(facts=dash.facts, start=filters.date_from, end=filters.date_to or (now.date() if dash.facts else None))
    dash.engagement = stats.engagement(facts=dash.facts, trainee_ids=list(trainees), cutoff=now - dt.timedelta(days=14))
    if info is None:
        return dash
    vals = _values(info=info, per_session=per_session, session_index=index)
    dash.values, dash.distributions = vals.values, vals.distributions
    dash.skills, dash.units, dash.targets = vals.skills, vals.units, vals.targets
    dash.skill_names = skill_names_for(framework=info, skills=vals.skills)
    grouped = stats.values_by_trainee(vals.values)
    dash.rows = stats.heatmap_rows(values=vals.values, trainees=trainees, skills=vals.skills, grouped=grouped)
    dash.trajectories = stats.trajectories(values=vals.values, skills=vals.skills, targets=vals.targets, grouped=grouped)
    dash.summaries = stats.skill_summaries(rows=dash.rows, skills=vals.skills, targets=vals.targets, distributions=vals.distributions)
    dash.weakest = stats.weakest_skills(summaries=dash.summaries)
    if with_evidence:
        dash.evidence = evidence_turns(framework=info, skills=[s.skill for s in dash.weakest], rollups=per_session,
                                       session_index=index)
    return dash


# --- exports: item rows -----------------------------------------------------------------------------------------


def items_for_export(*, sessions: QuerySet[PracticeSession], framework_slug: str):
    """Every assessment item in scope with its latest review (one query, streamed)."""
    latest = Review.objects.filter(item=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        AssessmentItem.objects.filter(assessment__framework_slug=framework_slug, assessment__turn__session__in=sessions.values("pk"))
        .annotate(
            review_verdict=Subquery(latest.values("verdict")[:1]),
            review_label=Subquery(latest.values("corrected_label")[:1]),
            review_text=Subquery(latest.values("corrected_text")[:1]),
            reviewer_name=Subquery(latest.values("reviewer__username")[:1]),
        )
        .order_by("assessment__turn__session__trainee__username", "assessment__turn__session__started_at",
                  "assessment__turn__index", "position")
        .values_list("assessment__turn__session__trainee__username", "assessment__turn__session_id",
                     "assessment__turn__session__started_at", "assessment__turn__index", "assessment__turn__text",
                     "skill", "label", "review_label", "review_verdict", "review_text", "reviewer_name", "confidence",
                     "assessment__backend")
    )


# --- trainee profile --------------------------------------------------------------------------------------------


@dataclass
class SessionRow:
    session: PracticeSession
    fact: stats.SessionFact | None
    voice_clips: int
    comments: int


@dataclass
class FrameworkProfile:
    framework: FrameworkInfo
    skills: list[str]
    skill_names: dict[str, str]
    units: dict[str, str]
    targets: dict[str, float]
    cells: list[stats.HeatCell]
    trajectories: list[stats.Trajectory]
    strengths: list[stats.HeatCell]
    next_skills: list[stats.HeatCell]


@dataclass
class TraineeProfile:
    trainee: object
    sessions: list[SessionRow]
    frameworks: list[FrameworkProfile]
    comments: list[TurnComment]


def trainee_profile(*, trainee, sealed_exams_hidden: bool = False) -> TraineeProfile:
    """Fixed number of queries: sessions, facts, frameworks used, values (3), comments.

    ``sealed_exams_hidden``: the trainee's own view leaves out exams whose results are not released."""
    sessions_qs = PracticeSession.objects.filter(trainee=trainee)
    if sealed_exams_hidden:
        sessions_qs = sessions_qs.exclude(exam=True, results_released_at__isnull=True)
    sessions = list(
        sessions_qs.select_related("scenario_version__scenario")
        .annotate(clips=Count("voice_clips", distinct=True), comment_count=Count("turn_comments", distinct=True))
        .order_by("-started_at")
    )
    facts = {f.session_id: f for f in session_facts(sessions=sessions_qs)}
    index = {f.session_id: (f.trainee_id, f.started_at) for f in facts.values()}
    slugs = sorted(set(Assessment.objects.filter(turn__session__in=sessions_qs).exclude(kind="teaching-feedback")
                       .values_list("framework_slug", flat=True).distinct()))
    infos = framework_infos(slugs=slugs)
    all_values = frameworks_values(sessions=sessions_qs, frameworks=[infos[s] for s in slugs], session_index=index) if slugs else {}
    profiles = []
    for slug in slugs:
        vals = all_values[slug]
        row = stats.heatmap_rows(values=vals.values, trainees={trainee.pk: trainee.get_username()}, skills=vals.skills)[0]
        strengths, next_skills = stats.strengths_and_next(cells=row.cells)
        profiles.append(FrameworkProfile(
            framework=vals.framework, skills=vals.skills, skill_names=skill_names_for(framework=vals.framework, skills=vals.skills),
            units=vals.units, targets=vals.targets, cells=row.cells,
            trajectories=stats.trajectories(values=vals.values, skills=vals.skills, targets=vals.targets),
            strengths=strengths, next_skills=next_skills,
        ))
    comments = list(TurnComment.objects.filter(session__in=sessions_qs).select_related("turn", "author", "session")
                    .order_by("-created_at")[:100])
    return TraineeProfile(
        trainee=trainee,
        sessions=[SessionRow(session=s, fact=facts.get(s.pk), voice_clips=s.clips, comments=s.comment_count) for s in sessions],
        frameworks=profiles, comments=comments,
    )
