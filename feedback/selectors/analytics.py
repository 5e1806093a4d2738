"""Instructor-facing summaries: recent sessions of their trainees and per-trainee skill scores (effective labels)."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from feedback.scoring import skill_scores
from feedback.selectors.assessments import assessment_view, assessments_with_items, framework_infos
from simulations.models import PracticeSession
from trainer_app.roles import trainees_visible_to


def sessions_recent_for_instructor(*, user, limit: int = 15) -> QuerySet[PracticeSession]:
    return (
        PracticeSession.objects.filter(trainee__in=trainees_visible_to(user=user))
        .select_related("trainee", "scenario_version__scenario")
        .annotate(turn_count=Count("turns"))
        .order_by("-started_at")[:limit]
    )


def trainee_skill_summary(*, user, limit_assessments: int = 2000) -> list[dict]:
    """[{trainee, framework, skills: [{skill, name, score, count}]}] over the
    trainees this user may see; scores are means of effective label scores."""
    assessments = list(
        assessments_with_items()
        .filter(turn__session__trainee__in=trainees_visible_to(user=user))
        .exclude(kind="behaviour-coding")
        .select_related("turn__session__trainee")
        .order_by("-created_at")[:limit_assessments]
    )
    infos = framework_infos(slugs=sorted({a.framework_slug for a in assessments}))
    items: dict[tuple[str, str], list] = {}
    for assessment in assessments:
        key = (assessment.turn.session.trainee.get_username(), assessment.framework_slug)
        items.setdefault(key, []).extend(assessment_view(assessment=assessment, framework=infos[assessment.framework_slug]).items)
    rows = []
    for (trainee, slug), group in sorted(items.items()):
        info = infos[slug]
        skills = [s for s in skill_scores(items=group, framework=info) if s.score is not None]
        if not skills:
            continue
        rows.append({
            "trainee": trainee, "framework": info.name, "framework_slug": slug,
            "skills": [{"skill": s.skill, "name": s.name, "score": round(s.score, 2), "count": s.count} for s in skills],
        })
    return rows
