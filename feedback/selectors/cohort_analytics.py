"""Reads for the instructor analytics: cohort dashboard, trainee profile, exports.

Every read here is a fixed number of queries whatever the cohort's size (aggregates
grouped by session and skill in SQL; instructor corrections fetched separately —
they are few — and applied to the aggregates in feedback.cohort_stats). Nothing
here loops over trainees or sessions with a query inside."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from feedback import cohort_stats as stats
from feedback.models import Assessment, AssessmentItem, Framework, Review, TurnComment
from feedback.selectors.assessments import FrameworkInfo, framework_infos, label_score, miti_summary
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
    sessions = PracticeSession.objects.filter(trainee_id__in=trainee_ids)
    if filters.framework:
        sessions = sessions.filter(Exists(Assessment.objects.filter(turn__session=OuterRef("pk"), framework_slug=filters.framework)))
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


def _score_case(*, infos: list[FrameworkInfo]) -> Case:
    """SQL for label_score(label, skill labels) per framework and skill (None when unscored)."""
    whens = []
    for info in infos:
        specific = [s for s, data in info.skills.items() if data.get("labels")]
        for skill in specific:
            labels = info.skill_labels(skill)
            whens += [When(assessment__framework_slug=info.slug, skill=skill, label=label,
                           then=Value(label_score(label=label, labels=labels))) for label in labels
                      if label_score(label=label, labels=labels) is not None]
        whens += [When(assessment__framework_slug=info.slug, label=label, then=Value(label_score(label=label, labels=info.labels)))
                  for label in info.labels if label_score(label=label, labels=info.labels) is not None
                  and not specific]
        if specific:
            whens += [When(Q(assessment__framework_slug=info.slug) & ~Q(skill__in=specific), label=label,
                           then=Value(label_score(label=label, labels=info.labels)))
                      for label in info.labels if label_score(label=label, labels=info.labels) is not None]
    return Case(*whens, default=None, output_field=FloatField())


def _items(*, sessions: QuerySet[PracticeSession], slugs: list[str]) -> QuerySet[AssessmentItem]:
    return AssessmentItem.objects.filter(assessment__framework_slug__in=slugs, assessment__turn__session__in=sessions.values("pk"))


def _corrected(items: QuerySet[AssessmentItem]):
    """(item id, session, framework, skill, engine label, effective label) of the items with a review."""
    return (
        items.filter(Exists(Review.objects.filter(item=OuterRef("pk"))))
        .annotate(effective=_latest_review_label())
        .values_list("pk", "assessment__turn__session_id", "assessment__framework_slug", "skill", "label", "effective")
    )


@dataclass
class Values:
    """Per-session values of one framework, with what was needed to compute them."""

    framework: FrameworkInfo
    values: list[stats.SessionValue]
    distributions: dict[str, dict[str, int]]
    skills: list[str]
    units: dict[str, str]  # skill -> "score" | "percent" | "ratio"
    targets: dict[str, float]


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
    """Per-session values for one framework: 3 queries (sums, corrections, distribution) for rubrics;
    2 (codes, corrections) for behaviour coding."""
    return frameworks_values(sessions=sessions, frameworks=[framework], session_index=session_index)[framework.slug]


def frameworks_values(*, sessions: QuerySet[PracticeSession], frameworks: list[FrameworkInfo],
                      session_index: dict[int, tuple[int, dt.datetime]]) -> dict[str, Values]:
    """framework_values for several frameworks at once, in the same number of queries."""
    rubric = [f for f in frameworks if f.kind != BEHAVIOUR_CODING]
    coding = [f for f in frameworks if f.kind == BEHAVIOUR_CODING]
    out: dict[str, Values] = {}
    if rubric:
        items = _items(sessions=sessions, slugs=[f.slug for f in rubric])
        score = _score_case(infos=rubric)
        sums = (items.order_by().values_list("assessment__framework_slug", "assessment__turn__session_id", "skill")
                .annotate(total=Sum(score), n=Count(score)))
        per_sums: dict[str, list] = {}
        for slug, session_id, skill, total, n in sums:
            per_sums.setdefault(slug, []).append((session_id, skill, total, n))
        dist_rows: dict[str, list] = {}
        for slug, skill, label, n in items.order_by().values_list("assessment__framework_slug", "skill", "label").annotate(n=Count("pk")):
            dist_rows.setdefault(slug, []).append((skill, label, n))
        corrections: dict[str, list] = {}
        for _pk, session_id, slug, skill, engine, effective in _corrected(items):
            corrections.setdefault(slug, []).append((session_id, skill, engine, effective))
        by_slug = {f.slug: f for f in rubric}
        for slug, info in by_slug.items():
            fixes = corrections.get(slug, [])
            values = stats.rubric_values(
                sums=per_sums.get(slug, []),
                corrections=[(s, k, label_score(label=e, labels=info.skill_labels(k)), label_score(label=f, labels=info.skill_labels(k)))
                             for s, k, e, f in fixes if e != f],
                sessions=session_index,
            )
            seen = {v.skill for v in values} | {k for k, _, _ in dist_rows.get(slug, [])}
            skills = list(info.skills) + sorted(s for s in seen if s not in info.skills)
            out[slug] = Values(
                framework=info, values=values,
                distributions=stats.label_distribution(counts=dist_rows.get(slug, []), corrections=[(k, e, f) for _, k, e, f in fixes]),
                skills=skills, units={s: "score" for s in skills}, targets=_targets(info, skills),
            )
    if coding:
        items = _items(sessions=sessions, slugs=[f.slug for f in coding])
        fixes = {pk: eff for pk, *_rest, eff in _corrected(items)}
        per_assessment: dict[int, dict] = {}
        for pk, assessment_id, slug, session_id, skill, label in items.values_list(
                "pk", "assessment_id", "assessment__framework_slug", "assessment__turn__session_id", "skill", "label").order_by():
            entry = per_assessment.setdefault(assessment_id, {"slug": slug, "session": session_id, "labels": {}})
            entry["labels"][skill] = fixes.get(pk, label)
        for info in coding:
            codes, dist = [], {}
            for entry in per_assessment.values():
                if entry["slug"] != info.slug:
                    continue
                code = stats.coded_turn(entry["labels"])
                codes.append((entry["session"], code))
                if code["behaviour"]:
                    dist.setdefault("behaviour", {}).setdefault(code["behaviour"], 0)
                    dist["behaviour"][code["behaviour"]] += 1
                if code["family"] and code["subtype"]:
                    dist.setdefault(code["family"], {}).setdefault(code["subtype"], 0)
                    dist[code["family"]][code["subtype"]] += 1
            skills = list(stats.MITI_KEYS)
            out[info.slug] = Values(
                framework=info, values=stats.miti_values(codes=codes, sessions=session_index, summarize=miti_summary),
                distributions=dist, skills=skills,
                units={"reflection_to_question_ratio": "ratio", "percent_complex_reflections": "percent",
                       "percent_open_questions": "percent"},
                targets=_targets(info, skills),
            )
    return out


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


def skill_names_for(*, framework: FrameworkInfo, skills: list[str]) -> dict[str, str]:
    if framework.kind == BEHAVIOUR_CODING:
        return {s: stats.MITI_NAMES.get(s, s) for s in skills}
    return {s: framework.skill_name(s) for s in skills}


def evidence_turns(*, sessions: QuerySet[PracticeSession], framework: FrameworkInfo, skills: list[str],
                   per_skill: int = 5) -> dict[str, list[EvidenceTurn]]:
    """Recent turns that show each given skill at its weakest rating (effective): one query per skill
    named, and the caller names at most three."""
    out: dict[str, list[EvidenceTurn]] = {}
    for skill in skills:
        if framework.kind == BEHAVIOUR_CODING:
            code_skill, label = MITI_EVIDENCE.get(skill, ("", ""))
        else:
            code_skill, labels = skill, framework.skill_labels(skill)
            label = labels[-1] if labels else ""
        if not code_skill:
            continue
        rows = (
            _items(sessions=sessions, slugs=[framework.slug]).filter(skill=code_skill)
            .annotate(effective=_latest_review_label()).filter(effective=label)
            .order_by("-assessment__turn__created_at")
            .values_list("assessment__turn__session_id", "assessment__turn__index",
                         "assessment__turn__session__trainee__username", "assessment__turn__text", "effective")[:per_skill]
        )
        out[skill] = [EvidenceTurn(session_id=r[0], turn_index=r[1], trainee=r[2], text=r[3], label=r[4]) for r in rows]
    return out


def cohort_dashboard(*, cohort: Cohort, filters: CohortFilters, now: dt.datetime | None = None,
                     with_evidence: bool = True) -> CohortDashboard:
    trainees = cohort_trainees(cohort=cohort)
    info = framework_infos(slugs=[filters.framework])[filters.framework] if filters.framework else None
    dash = CohortDashboard(cohort=cohort, filters=filters, framework=info, trainees=trainees)
    sessions = sessions_in_scope(trainee_ids=list(trainees), filters=filters)
    dash.facts = session_facts(sessions=sessions)
    index = {f.session_id: (f.trainee_id, f.started_at) for f in dash.facts}
    now = now or timezone.now()
    dash.weeks = stats.weekly_volume(facts=dash.facts, start=filters.date_from, end=filters.date_to or (now.date() if dash.facts else None))
    dash.engagement = stats.engagement(facts=dash.facts, trainee_ids=list(trainees), cutoff=now - dt.timedelta(days=14))
    if info is None:
        return dash
    vals = framework_values(sessions=sessions, framework=info, session_index=index)
    dash.values = vals.values
    dash.skills, dash.units, dash.targets = vals.skills, vals.units, vals.targets
    dash.skill_names = skill_names_for(framework=info, skills=vals.skills)
    dash.rows = stats.heatmap_rows(values=vals.values, trainees=trainees, skills=vals.skills)
    dash.trajectories = stats.trajectories(values=vals.values, skills=vals.skills, targets=vals.targets)
    dash.summaries = stats.skill_summaries(rows=dash.rows, skills=vals.skills, targets=vals.targets, distributions=vals.distributions)
    dash.weakest = stats.weakest_skills(summaries=dash.summaries)
    if with_evidence:
        dash.evidence = evidence_turns(sessions=sessions, framework=info, skills=[s.skill for s in dash.weakest])
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


def trainee_profile(*, trainee) -> TraineeProfile:
    """Fixed number of queries: sessions, facts, frameworks used, values (3), comments."""
    sessions_qs = PracticeSession.objects.filter(trainee=trainee)
    sessions = list(
        sessions_qs.select_related("scenario_version__scenario")
        .annotate(clips=Count("voice_clips", distinct=True), comment_count=Count("turn_comments", distinct=True))
        .order_by("-started_at")
    )
    facts = {f.session_id: f for f in session_facts(sessions=sessions_qs)}
    index = {f.session_id: (f.trainee_id, f.started_at) for f in facts.values()}
    slugs = sorted(set(Assessment.objects.filter(turn__session__trainee=trainee).exclude(kind="teaching-feedback")
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
    comments = list(TurnComment.objects.filter(session__trainee=trainee).select_related("turn", "author", "session")
                    .order_by("-created_at")[:100])
    return TraineeProfile(
        trainee=trainee,
        sessions=[SessionRow(session=s, fact=facts.get(s.pk), voice_clips=s.clips, comments=s.comment_count) for s in sessions],
        frameworks=profiles, comments=comments,
    )
