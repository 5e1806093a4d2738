"""Bump a framework's revision when one of its exemplars changes (wired in FeedbackConfig.ready).

Workers keep each framework's pack (hundreds of exemplars, ~20 ms to read) between turns and
re-read it only when ``(pk, revision, updated_at)`` changed (feedback.services.assessors.
framework_current). Covered: save() and delete() of an exemplar (an instructor correction, an
authored edit, a pack re-import, a person erased); queryset.delete() sends these too.
Not covered, by design: ``bulk_create`` (only when a framework is first created: a new pk) and
``update(anonymised=...)`` (no engine reads it)."""

from __future__ import annotations

from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from feedback.models import Exemplar, Framework


@receiver(post_save, sender=Exemplar, dispatch_uid="framework_revision_exemplar_saved")
@receiver(post_delete, sender=Exemplar, dispatch_uid="framework_revision_exemplar_deleted")
def _exemplar_changed(sender, instance: Exemplar, **kwargs) -> None:
    # In the writer's transaction: the new revision commits (or rolls back) with the exemplar.
    Framework.objects.filter(pk=instance.framework_id).update(revision=F("revision") + 1)
