"""Which scenarios a person may see and play."""

from __future__ import annotations

from django.db.models import QuerySet

from simulations.models import Scenario
from trainer_app.roles import user_is_instructor


def scenarios_for_trainee(*, user) -> QuerySet[Scenario]:
    """Scenarios assigned to any of the trainee's cohorts, not archived, playable."""
    return (
        Scenario.objects.filter(cohorts__members=user, is_archived=False, current_version__isnull=False)
        .select_related("persona", "current_version")
        .distinct()
        .order_by("title")
    )


def scenario_visible_to(*, user, slug: str) -> Scenario | None:
    """The scenario if this user may read its brief and play it: instructors and
    admins always (they try scenarios out), trainees only when assigned."""
    if not user.is_authenticated:
        return None
    if user_is_instructor(user=user):
        return Scenario.objects.select_related("persona", "current_version").filter(
            slug=slug, current_version__isnull=False
        ).first()
    return scenarios_for_trainee(user=user).filter(slug=slug).first()


def scenario_exam_choice_for(*, user, scenario: Scenario) -> bool:
    """The trainee may take this scenario as an exam: one of their cohorts that has it allows the choice."""
    return scenario.cohorts.filter(members=user, exam_choice=True).exists()
