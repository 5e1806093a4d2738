"""Reading assessments as people see them: the instructor's review wins.

Every page that shows a rating (live panel, debrief, review, dashboards) goes
through ``item_effective`` so a correction shows the same everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet

from feedback.models import Assessment, AssessmentItem, Framework, Review
from simulations.models import PracticeSession, Turn

# Behaviour coding: which code family refines each main behaviour.
SUBTYPE_FAMILY = {"reflection": "reflection", "question": "question", "therapist_input": "input"}
PERSONA_SPEAKER = {"cbt-patient": "patient", "interpersonal-partner": "partner", "mi-client": "client"}


@dataclass
class EffectiveItem:
    item: AssessmentItem
    label: str  # the instructor's label when reviewed with one, else the engine's
    suggestion: str
    rewrite: str
    engine_label: str
    verdict: str = ""  # latest review's verdict ("" when not reviewed)
    reviewer: str = ""
    corrected: bool = False  # the label or text differs from the engine's
    choices: list[str] = field(default_factory=list)  # labels this skill may take (review form)

    @property
    def skill(self) -> str:
        return self.item.skill


def _latest_review(item: AssessmentItem) -> Review | None:
    # reviews are prefetched ordered newest first (Review.Meta.ordering)
    reviews = list(item.reviews.all())
    return reviews[0] if reviews else None


def item_effective(*, item: AssessmentItem) -> EffectiveItem:
    review = _latest_review(item)
    if review is None:
        return EffectiveItem(item=item, label=item.label, suggestion=item.suggestion, rewrite=item.rewrite, engine_label=item.label)
    label = review.corrected_label or item.label
    return EffectiveItem(
        item=item,
        label=label,
        suggestion=review.corrected_text or item.suggestion,
        rewrite=review.corrected_rewrite or item.rewrite,
        engine_label=item.label,
        verdict=review.verdict,
        reviewer=review.reviewer.get_username() if review.reviewer_id and review.reviewer else "",
        corrected=label != item.label or bool(review.corrected_text or review.corrected_rewrite),
    )


def item_effective_label(*, item: AssessmentItem) -> str:
    return item_effective(item=item).label


def assessments_with_items() -> QuerySet[Assessment]:
    reviews = Prefetch("reviews", queryset=Review.objects.select_related("reviewer").order_by("-created_at", "-id"))
    return Assessment.objects.select_related("turn").prefetch_related(
        Prefetch("items", queryset=AssessmentItem.objects.prefetch_related(reviews))
    )


# --- frameworks as the pages need them ------------------------------------------------


@dataclass
class FrameworkInfo:
    slug: str
    name: str
    kind: str
    labels: list[str]
    skills: dict[str, dict] = field(default_factory=dict)  # slug -> skill (name, definition, guidance, labels)
    targets: dict = field(default_factory=dict)

    def skill_labels(self, skill: str) -> list[str]:
        return list((self.skills.get(skill) or {}).get("labels") or self.labels)

    def skill_name(self, skill: str) -> str:
        return str((self.skills.get(skill) or {}).get("name") or skill)


def framework_infos(*, slugs: list[str]) -> dict[str, FrameworkInfo]:
    infos = {}
    for framework in Framework.objects.filter(slug__in=slugs):
        data = framework.data or {}
        infos[framework.slug] = FrameworkInfo(
            slug=framework.slug, name=framework.name, kind=framework.kind, labels=list(data.get("labels") or []),
            skills={s["slug"]: s for s in data.get("skills") or []}, targets=dict(data.get("targets") or {}),
        )
    for slug in slugs:  # a framework deleted since: show its slug, score by the items' own labels
        infos.setdefault(slug, FrameworkInfo(slug=slug, name=slug, kind="", labels=[]))
    return infos


def label_score(*, label: str, labels: list[str]) -> float | None:
    """First label (best) = 1, last = 0, evenly between: strong 1, weak 0.5, absent 0."""
    if label not in labels or len(labels) < 2:
        return None
    return round(1 - labels.index(label) / (len(labels) - 1), 3)


# --- behaviour coding ----------------------------------------------------------------


def behaviour_codes(*, items: list[EffectiveItem]) -> dict:
    """{"behaviour": .., "subtype": ..} from effective labels (subtype from the matching family)."""
    by_skill = {e.skill: e.label for e in items}
    behaviour = by_skill.get("behaviour", "")
    family = SUBTYPE_FAMILY.get(behaviour)
    return {"behaviour": behaviour, "family": family, "subtype": by_skill.get(family, "") if family else ""}


def relevant_items(*, kind: str, items: list[EffectiveItem]) -> list[EffectiveItem]:
    """Behaviour coding shows the main code and its own sub-code only; other kinds show every skill."""
    if kind != "behaviour-coding":
        return items
    codes = behaviour_codes(items=items)
    return [e for e in items if e.skill == "behaviour" or e.skill == codes["family"]]


def miti_summary(*, codes: list[dict], targets: dict) -> dict:
    """MITI summary figures over coded turns, each with its target and whether it is met."""
    reflections = [c for c in codes if c.get("behaviour") == "reflection"]
    questions = [c for c in codes if c.get("behaviour") == "question"]
    complex_ = sum(1 for c in reflections if c.get("subtype") == "complex")
    typed_reflections = sum(1 for c in reflections if c.get("subtype") in ("simple", "complex"))
    open_ = sum(1 for c in questions if c.get("subtype") == "open")
    typed_questions = sum(1 for c in questions if c.get("subtype") in ("open", "closed"))
    figures = {
        "reflection_to_question_ratio": round(len(reflections) / len(questions), 2) if questions else None,
        "percent_complex_reflections": round(100 * complex_ / typed_reflections) if typed_reflections else None,
        "percent_open_questions": round(100 * open_ / typed_questions) if typed_questions else None,
    }
    names = {
        "reflection_to_question_ratio": "Reflections : questions",
        "percent_complex_reflections": "% complex reflections",
        "percent_open_questions": "% open questions",
    }
    rows = []
    for key, value in figures.items():
        target = targets.get(key)
        rows.append({
            "key": key, "name": names[key], "value": value, "target": target,
            "met": None if value is None or target is None else value >= float(target),
        })
    return {"coded": len(codes), "reflections": len(reflections), "questions": len(questions), "rows": rows}


# --- sessions ------------------------------------------------------------------------


@dataclass
class AssessmentView:
    assessment: Assessment
    framework: FrameworkInfo
    items: list[EffectiveItem]  # every item, effective
    shown: list[EffectiveItem]  # the ones to display (behaviour coding: the relevant codes)
    codes: dict = field(default_factory=dict)


@dataclass
class TurnView:
    turn: Turn
    speaker_name: str
    assessments: list[AssessmentView] = field(default_factory=list)


def assessment_view(*, assessment: Assessment, framework: FrameworkInfo) -> AssessmentView:
    items = [item_effective(item=i) for i in assessment.items.all()]
    for eff in items:
        eff.choices = framework.skill_labels(eff.skill)
    kind = assessment.kind or framework.kind
    view = AssessmentView(assessment=assessment, framework=framework, items=items, shown=relevant_items(kind=kind, items=items))
    if kind == "behaviour-coding":
        view.codes = behaviour_codes(items=items)
    return view


def session_get(*, session_id: int) -> PracticeSession | None:
    return (
        PracticeSession.objects.select_related("trainee", "scenario_version__scenario", "scenario_version")
        .filter(pk=session_id)
        .first()
    )


def session_speaker_name(*, session: PracticeSession) -> str:
    kind = (session.scenario_version.persona_data or {}).get("kind", "")
    return PERSONA_SPEAKER.get(kind, "partner")


def session_transcript(*, session: PracticeSession) -> list[TurnView]:
    """Every turn, oldest first, with its assessments (effective labels)."""
    slugs = list(session.scenario_version.framework_slugs or [])
    infos = framework_infos(slugs=slugs + list(
        Assessment.objects.filter(turn__session=session).values_list("framework_slug", flat=True).distinct()
    ))
    by_turn: dict[int, list[AssessmentView]] = {}
    for assessment in assessments_with_items().filter(turn__session=session):
        by_turn.setdefault(assessment.turn_id, []).append(
            assessment_view(assessment=assessment, framework=infos[assessment.framework_slug])
        )
    persona_name = (session.scenario_version.persona_data or {}).get("name") or "Partner"
    return [
        TurnView(turn=turn, speaker_name="You" if turn.speaker == Turn.Speaker.TRAINEE else persona_name,
                 assessments=by_turn.get(turn.pk, []))
        for turn in session.turns.order_by("index")
    ]


def transcript_assessment_views(*, transcript: list[TurnView], framework_slug: str) -> list[AssessmentView]:
    return [a for t in transcript for a in t.assessments if a.framework.slug == framework_slug]


@dataclass
class SkillScore:
    skill: str
    name: str
    score: float | None  # mean over the session's assessed turns
    count: int
    labels: dict  # label -> how many times (effective)
    previous: list[float] = field(default_factory=list)  # earlier sessions, oldest first
    delta: float | None = None


def skill_scores(*, views: list[AssessmentView], framework: FrameworkInfo) -> list[SkillScore]:
    """Per-skill mean of label scores (strong 1, weak 0.5, absent 0) over the given assessments."""
    values: dict[str, list[float]] = {}
    counts: dict[str, dict] = {}
    for view in views:
        for item in view.items:
            counts.setdefault(item.skill, {})
            counts[item.skill][item.label] = counts[item.skill].get(item.label, 0) + 1
            score = label_score(label=item.label, labels=framework.skill_labels(item.skill))
            if score is not None:
                values.setdefault(item.skill, []).append(score)
    order = list(framework.skills) + [s for s in counts if s not in framework.skills]
    return [
        SkillScore(
            skill=skill, name=framework.skill_name(skill),
            score=round(sum(values[skill]) / len(values[skill]), 3) if values.get(skill) else None,
            count=len(values.get(skill, [])), labels=counts.get(skill, {}),
        )
        for skill in order
        if skill in counts
    ]


def session_skill_scores(*, session: PracticeSession, framework: FrameworkInfo) -> list[SkillScore]:
    views = [
        assessment_view(assessment=a, framework=framework)
        for a in assessments_with_items().filter(turn__session=session, framework_slug=framework.slug)
    ]
    return skill_scores(views=views, framework=framework)


def trainee_sessions_with_framework(*, trainee_id: int, framework_slug: str, before: PracticeSession | None = None, limit: int = 5):
    # An exam's scores join the trend only once its results are released (the debrief shows the trend to the trainee).
    sessions = PracticeSession.objects.filter(
        trainee_id=trainee_id, turns__assessments__framework_slug=framework_slug
    ).exclude(exam=True, results_released_at__isnull=True).distinct().order_by("-started_at")
    if before is not None:
        sessions = sessions.filter(started_at__lt=before.started_at).exclude(pk=before.pk)
    return list(sessions[:limit])[::-1]  # oldest first


def skill_scores_with_trend(*, session: PracticeSession, framework: FrameworkInfo, current: list[SkillScore]) -> list[SkillScore]:
    """Adds each skill's scores in the trainee's earlier sessions with this framework."""
    earlier = trainee_sessions_with_framework(trainee_id=session.trainee_id, framework_slug=framework.slug, before=session)
    history = [
        {s.skill: s.score for s in session_skill_scores(session=old, framework=framework)} for old in earlier
    ]
    for score in current:
        score.previous = [h[score.skill] for h in history if h.get(score.skill) is not None]
        if score.previous and score.score is not None:
            score.delta = round(score.score - score.previous[-1], 3)
    return current


def next_steps(*, views: list[AssessmentView], framework: FrameworkInfo, scores: list[SkillScore], count: int = 3) -> list[dict]:
    """The weakest skills, each with its guidance and the best rewrite seen for it this session."""
    weakest = sorted((s for s in scores if s.score is not None and s.score < 1), key=lambda s: (s.score, s.skill))[:count]
    steps = []
    for score in weakest:
        items = [i for v in views for i in v.items if i.skill == score.skill]
        # An instructor's rewrite first, then the engine's most confident one.
        rewrites = sorted(
            (i for i in items if i.rewrite),
            key=lambda i: (not i.corrected, -(i.item.confidence or 0)),
        )
        best = rewrites[0] if rewrites else None
        skill = framework.skills.get(score.skill) or {}
        steps.append({
            "skill": score.skill, "name": score.name, "score": score.score,
            "guidance": skill.get("guidance") or skill.get("definition") or "",
            "rewrite": best.rewrite if best else "",
            "said": best.item.assessment.turn.text if best else "",
            "suggestion": best.suggestion if best else "",
        })
    return steps


def session_miti(*, views: list[AssessmentView], framework: FrameworkInfo) -> dict:
    return miti_summary(codes=[v.codes for v in views if v.codes], targets=framework.targets)
