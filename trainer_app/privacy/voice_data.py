"""Voice enrolments (voice prints) as personal data: export, erasure, consent withdrawal."""

from __future__ import annotations

from pathlib import Path

from trainer_app.models import Consent, VoiceEnrolment
from trainer_app.privacy.registry import (
    PersonalData,
    PrivacyContributor,
    privacy_contributor_register,
    privacy_revoke_hook_register,
)


def _export(*, user) -> PersonalData:
    enrolments = list(VoiceEnrolment.objects.filter(user=user).order_by("created_at"))
    files = {f"enrolment-{e.pk}{Path(e.audio.name).suffix}": Path(e.audio.path) for e in enrolments if e.audio}
    return PersonalData(records={"voice_enrolments": [
        {"id": e.pk, "status": e.status, "created_at": e.created_at, "consent_at": e.consent_at,
         "model": e.model_name, "recording_kept": bool(e.audio), "duration_s": e.duration_s} for e in enrolments
    ]}, files=files)


def _delete_all(*, user) -> dict[str, int]:
    count = 0
    for enrolment in VoiceEnrolment.objects.filter(user=user):
        enrolment.delete()  # its clip goes after commit (trainer_app.signals)
        count += 1
    return {"voice_enrolments": count}


def privacy_register_voice() -> None:
    privacy_contributor_register(contributor=PrivacyContributor(name="voice", export=_export, erase=_delete_all,
                                                                erase_order=30))
    privacy_revoke_hook_register(kind=Consent.Kind.VOICE_ENROLMENT, hook=_delete_all)
