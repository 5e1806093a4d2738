"""Reading assessments as people see them: the instructor's review wins.

Every page that shows a rating (live panel, debrief, review, dashboards) goes
through ``item_effective`` so a correction shows the same everywhere.

Queries only: scoring (label scores, skill means, trends, next steps, MITI
figures, behaviour codes) lives in the pure module ``feedback.scoring``. Every
selector here runs a fixed number of queries, however many sessions,
frameworks or turns it reads (tests/feedback/test_selector_queries.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet

from feedback.models import Assessment, AssessmentItem, Framework, Review
from feedback.scoring import (
    FrameworkInfo,
    behaviour_codes,
    framework_info_from_data,
    miti_summary,
    relevant_items,
    session_miti,
    skill_scores,
)
from simulations.models import PracticeSession, Turn


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
        return item_unreviewed(item=item)
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


def item_unreviewed(*, item: AssessmentItem) -> EffectiveItem:
    """An item as people see it before any review (the engine's label and text)."""
    return EffectiveItem(
        item=item, label=item.label, suggestion=item.suggestion, rewrite=item.rewrite, engine_label=item.label
    )


def item_effective_label(*, item: AssessmentItem) -> str:
    return item_effective(item=item).label


def assessments_with_items() -> QuerySet[Assessment]:
    """Assessments with their turn, items and reviews: three queries however many rows."""
    reviews = Prefetch("reviews", queryset=Review.objects.select_related("reviewer").order_by("-created_at", "-id"))
    return Assessment.objects.select_related("turn").prefetch_related(
        Prefetch("items", queryset=AssessmentItem.objects.prefetch_related(reviews))
    )


def framework_infos(*, slugs: list[str]) -> dict[str, FrameworkInfo]:
    """One query; a framework deleted since shows its slug and scores by the items' own labels."""
    infos = {
        framework.slug: framework_info_from_data(
            slug=framework.slug, name=framework.name, kind=framework.kind, data=framework.data
        )
        for framework in Framework.objects.filter(slug__in=slugs)
    }
    for slug in slugs:
        infos.setdefault(slug, FrameworkInfo(slug=slug, name=slug, kind="", labels=[]))
    return infos


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
    """No query when the assessment comes from ``assessments_with_items``."""
    return _view(
        assessment=assessment, framework=framework, items=[item_effective(item=i) for i in assessment.items.all()]
    )


def assessment_view_stored(
    *, assessment: Assessment, items: list[AssessmentItem], framework: FrameworkInfo
) -> AssessmentView:
    """The view of an assessment just stored, from the items it was stored with (in position order):
    no query. Nothing can have reviewed them yet (their rows committed moments ago and no page has
    shown them), so every item is the engine's own; the same view ``assessment_view`` gives once
    the assessment is read back (tests/feedback/test_live_feedback_render.py)."""
    return _view(assessment=assessment, framework=framework, items=[item_unreviewed(item=i) for i in items])


def _view(*, assessment: Assessment, framework: FrameworkInfo, items: list[EffectiveItem]) -> AssessmentView:
    for eff in items:
        eff.choices = framework.skill_labels(eff.skill)
    kind = assessment.kind or framework.kind
    view = AssessmentView(
        assessment=assessment, framework=framework, items=items, shown=relevant_items(kind=kind, items=items)
    )
    if kind == "behaviour-coding":
        view.codes = behaviour_codes(items=items)
    return view


def session_miti_so_far(*, session_id: int, up_to_index: int, framework: FrameworkInfo) -> dict:
    """The running MITI summary of a session: every turn up to ``up_to_index`` coded with this
    behaviour-coding framework, with the instructor's corrections (the latest review's label wins,
    as in ``item_effective``). Two queries of plain values however long the session: the live push
    computes this every turn, and reading the session's whole coded history as models (assessments,
    items, reviews) made each turn's cost grow with the session. Equal to ``session_miti`` over
    ``assessment_view`` of the same assessments (tests/feedback/test_live_feedback_render.py)."""
    rows = (
        Assessment.objects.filter(
            turn__session_id=session_id, turn__index__lte=up_to_index, framework_slug=framework.slug
        )
        .order_by("pk", "items__position", "items__pk")
        .values_list("pk", "kind", "items__pk", "items__skill", "items__label")
    )
    corrected: dict[int, str] = {}
    reviews = (
        Review.objects.filter(
            item__assessment__turn__session_id=session_id,
            item__assessment__turn__index__lte=up_to_index,
            item__assessment__framework_slug=framework.slug,
        )
        .order_by("item_id", "-created_at", "-id")  # the latest first, as Review.Meta.ordering
        .values_list("item_id", "corrected_label")
    )
    for item_id, label in reviews:
        corrected.setdefault(item_id, label)
    by_assessment: dict[int, tuple[str, list[_Labelled]]] = {}
    for pk, kind, item_pk, skill, label in rows:
        _, items = by_assessment.setdefault(pk, (kind, []))
        if item_pk is not None:
            items.append(_Labelled(skill=skill, label=corrected.get(item_pk) or label))
    codes = [
        behaviour_codes(items=items)
        for kind, items in by_assessment.values()
        if (kind or framework.kind) == "behaviour-coding"
    ]
    return miti_summary(codes=codes, targets=framework.targets)


@dataclass(frozen=True)
class _Labelled:
    skill: str
    label: str


def views_items(*, views: list[AssessmentView]) -> list[EffectiveItem]:
    return [item for view in views for item in view.items]


def session_get(*, session_id: int) -> PracticeSession | None:
    return (
        PracticeSession.objects.select_related("trainee", "scenario_version__scenario", "scenario_version")
        .filter(pk=session_id)
        .first()
    )


def session_transcript(*, session: PracticeSession) -> list[TurnView]:
    """Every turn, oldest first, with its assessments (effective labels)."""
    slugs = list(session.scenario_version.framework_slugs or [])
    infos = framework_infos(
        slugs=slugs
        + list(Assessment.objects.filter(turn__session=session).values_list("framework_slug", flat=True).distinct())
    )
    by_turn: dict[int, list[AssessmentView]] = {}
    for assessment in assessments_with_items().filter(turn__session=session):
        by_turn.setdefault(assessment.turn_id, []).append(
            assessment_view(assessment=assessment, framework=infos[assessment.framework_slug])
        )
    persona_name = (session.scenario_version.persona_data or {}).get("name") or "Partner"
    return [
        TurnView(
            turn=turn,
            speaker_name="You" if turn.speaker == Turn.Speaker.TRAINEE else persona_name,
            assessments=by_turn.get(turn.pk, []),
        )
        for turn in session.turns.order_by("index")
    ]


def transcript_assessment_views(*, transcript: list[TurnView], framework_slug: str) -> list[AssessmentView]:
    return [a for t in transcript for a in t.assessments if a.framework.slug == framework_slug]


def trainee_score_history(
    *, session: PracticeSession, frameworks: dict[str, FrameworkInfo], limit: int = 5
) -> dict[str, list[dict[str, float | None]]]:
    """Per framework slug, the skill scores ({skill: score}) of the trainee's
    ``limit`` latest earlier sessions assessed with it, oldest first.

    Four queries however many frameworks and sessions: the earlier sessions'
    (framework, session) pairs, then their assessments with items and reviews."""
    if not frameworks:
        return {}
    pairs = (
        Assessment.objects.filter(
            turn__session__trainee_id=session.trainee_id,
            turn__session__started_at__lt=session.started_at,
            framework_slug__in=list(frameworks),
        )
        .exclude(turn__session_id=session.pk)
        # An exam joins the trend only once its results are released (the debrief shows the trend to the trainee).
        .exclude(turn__session__exam=True, turn__session__results_released_at__isnull=True)
        .values_list("framework_slug", "turn__session_id", "turn__session__started_at")
        .distinct()
    )
    chosen: dict[str, list[tuple]] = {}
    for slug, session_id, started_at in pairs:
        chosen.setdefault(slug, []).append((started_at, session_id))
    chosen = {slug: sorted(set(rows))[-limit:] for slug, rows in chosen.items()}  # oldest first
    session_ids = {sid for rows in chosen.values() for _, sid in rows}
    grouped: dict[tuple[str, int], list[EffectiveItem]] = {}
    if session_ids:
        for assessment in assessments_with_items().filter(
            turn__session_id__in=session_ids, framework_slug__in=list(chosen)
        ):
            view = assessment_view(assessment=assessment, framework=frameworks[assessment.framework_slug])
            grouped.setdefault((assessment.framework_slug, assessment.turn.session_id), []).extend(view.items)
    return {
        slug: [
            {s.skill: s.score for s in skill_scores(items=grouped.get((slug, sid), []), framework=frameworks[slug])}
            for _, sid in rows
        ]
        for slug, rows in chosen.items()
    }


def trainee_miti_history(*, session: PracticeSession, framework: FrameworkInfo, limit: int = 5) -> list[dict]:
    """MITI figures ({key: value}) of the trainee's ``limit`` latest earlier sessions coded with this
    behaviour-coding framework, oldest first; unreleased exams left out. Two queries."""

    earlier = list(
        PracticeSession.objects.filter(
            trainee_id=session.trainee_id,
            started_at__lt=session.started_at,
            turns__assessments__framework_slug=framework.slug,
        )
        .exclude(pk=session.pk)
        .exclude(exam=True, results_released_at__isnull=True)
        .distinct()
        .order_by("-started_at")
        .values_list("pk", flat=True)[:limit]
    )[::-1]
    grouped: dict[int, list] = {pk: [] for pk in earlier}
    for assessment in assessments_with_items().filter(turn__session_id__in=earlier, framework_slug=framework.slug):
        grouped[assessment.turn.session_id].append(assessment_view(assessment=assessment, framework=framework))
    return [
        {row["key"]: row["value"] for row in session_miti(views=grouped[pk], framework=framework)["rows"]}
        for pk in earlier
    ]
