from __future__ import annotations

from django.db.models import Count, QuerySet

from trainer_app.models import Cohort
from trainer_app.roles import user_is_admin


def cohorts_for_instructor(*, user) -> QuerySet[Cohort]:
    cohorts = Cohort.objects.select_related("owner").annotate(member_count=Count("members"))
    return cohorts if user_is_admin(user=user) else cohorts.filter(owner=user)


def cohort_for_instructor(*, user, cohort_id: int) -> Cohort | None:
    """A cohort this instructor owns (admins: any), else None (shown as 404)."""
    return cohorts_for_instructor(user=user).filter(pk=cohort_id).first()
