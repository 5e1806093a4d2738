"""Deleting a person and everything they own, in one transaction."""

from __future__ import annotations

from django.db import transaction

from trainer_app.privacy.registry import privacy_contributors


class ErasureRefused(Exception):
    """The person cannot be deleted as asked; the message says why."""


def person_erase(*, user, erased_by) -> dict[str, int]:
    """Every app erases what it holds (files after commit), then the account goes; {kind: count}."""
    if user.pk == erased_by.pk:
        raise ErasureRefused("You cannot delete your own account here; ask another admin.")
    counts: dict[str, int] = {}
    with transaction.atomic():
        for contributor in privacy_contributors():
            for kind, count in contributor.erase(user=user).items():
                counts[kind] = counts.get(kind, 0) + count
        # Cohorts they own move to the admin who deletes them, so their trainees keep an instructor.
        user.cohorts_owned.update(owner=erased_by)
        user.delete()
        counts["accounts"] = 1
    return counts
