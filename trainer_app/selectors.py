from __future__ import annotations

import numpy as np
from django.db.models import Count, QuerySet

from trainer_app.models import Cohort, VoiceEnrolment
from trainer_app.roles import user_is_admin


def cohorts_for_instructor(*, user) -> QuerySet[Cohort]:
    cohorts = Cohort.objects.select_related("owner").annotate(member_count=Count("members"))
    return cohorts if user_is_admin(user=user) else cohorts.filter(owner=user)


def voice_enrolments_for_users(*, user_ids) -> dict[int, np.ndarray]:
    """user id → that person's newest finished voice print of the current embedding model (one query).

    People without one are absent; prints computed by another model are never returned."""
    from trainer_app.engines.speech.speaker_embeddings import speaker_embedding_model_name

    rows = (
        VoiceEnrolment.objects.filter(
            user_id__in=list(user_ids),
            status=VoiceEnrolment.Status.DONE,
            model_name=speaker_embedding_model_name(),
            embedding__isnull=False,
        )
        .order_by("user_id", "-created_at", "-pk")
        .values_list("user_id", "embedding")
    )
    found: dict[int, np.ndarray] = {}
    for user_id, blob in rows:
        if user_id not in found:
            found[user_id] = np.frombuffer(bytes(blob), dtype="<f4").astype(np.float32)
    return found


def voice_enrolment_latest(*, user_id: int) -> VoiceEnrolment | None:
    """The person's newest enrolment, whatever its state (what their voice page shows)."""
    return VoiceEnrolment.objects.filter(user_id=user_id).select_related("created_by").first()


def voice_enrolment_viewable(*, viewer, enrolment_id: int) -> VoiceEnrolment | None:
    """The enrolment if `viewer` may see and change it (its person, or an admin); None otherwise."""
    enrolment = VoiceEnrolment.objects.filter(pk=enrolment_id).select_related("user").first()
    if enrolment is None or not viewer.is_authenticated:
        return None
    if enrolment.user_id == viewer.pk or user_is_admin(user=viewer):
        return enrolment
    return None
