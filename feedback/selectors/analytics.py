"""Instructor-facing summaries: recent sessions of their trainees and per-trainee skill scores (effective labels)."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from feedback.models import Assessment
from feedback.selectors.assessments import assessment_view, assessments_with_items, framework_infos, label_score
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
    sums: dict[tuple[str, str], dict[str, list[float]]] = {}
    for assessment in assessments:
        info = infos[assessment.framework_slug]
        key = (assessment.turn.session.trainee.get_username(), assessment.framework_slug)
        for eff in assessment_view(assessment=assessment, framework=info).items:
            score = label_score(label=eff.label, labels=info.skill_labels(eff.skill))
            if score is not None:
                sums.setdefault(key, {}).setdefault(eff.skill, []).append(score)
    rows = []
    for (trainee, slug), skills in sorted(sums.items()):
        info = infos[slug]
        rows.append({
            "trainee": trainee, "framework": info.name, "framework_slug": slug,
            "skills": [{"skill": s, "name": info.skill_name(s), "score": round(sum(v) / len(v), 2), "count": len(v)}
                       for s, v in skills.items()],
        })
    return rows


def assessment_count(*, session_id: int) -> int:
    return Assessment.objects.filter(turn__session_id=session_id).count()
