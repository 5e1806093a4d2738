"""Drop a session's analytics rollups when its assessments or reviews change (after commit).

Connected in FeedbackConfig.ready. Writes that bypass signals (queryset.update, bulk_create of
assessments) must call feedback.services.rollups.session_rollups_invalidate themselves; the
assessment service creates each Assessment with .create(), so it is covered."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from feedback.models import Assessment, AssessmentItem, Review
from feedback.services.rollups import session_rollups_invalidate
from simulations.models import Turn


def _later(session_id: int | None) -> None:
    if session_id is not None:
        transaction.on_commit(lambda: session_rollups_invalidate(session_ids=[session_id]))


@receiver(post_save, sender=Assessment, dispatch_uid="rollup_assessment_saved")
@receiver(post_delete, sender=Assessment, dispatch_uid="rollup_assessment_deleted")
def _assessment_changed(sender, instance: Assessment, **kwargs) -> None:
    turn = instance._state.fields_cache.get("turn")
    session_id = turn.session_id if turn is not None else Turn.objects.filter(pk=instance.turn_id).values_list("session_id", flat=True).first()
    _later(session_id)


@receiver(post_save, sender=Review, dispatch_uid="rollup_review_saved")
@receiver(post_delete, sender=Review, dispatch_uid="rollup_review_deleted")
def _review_changed(sender, instance: Review, **kwargs) -> None:
    _later(AssessmentItem.objects.filter(pk=instance.item_id).values_list("assessment__turn__session_id", flat=True).first())
