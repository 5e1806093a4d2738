"""Consent: given with its exact wording, revocable, checked before the use it covers."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from trainer_app.models import Consent

STATEMENTS = {
    Consent.Kind.VOICE_TURNS: (
        "I agree that what I say by voice in practice sessions is recorded, transcribed, and kept with the session: "
        "the audio for {voice_days} days, the transcript as long as the session. I can withdraw this at any time; "
        "withdrawing deletes the audio of my voice turns."
    ),
    Consent.Kind.VOICE_ENROLMENT: (
        "I agree that a voice print (a list of numbers computed from a short recording of my voice) is stored so that "
        "recordings I appear in can be labelled with my name. I can withdraw this at any time; withdrawing deletes "
        "the voice print and any recording of it."
    ),
}


def consent_statement(*, kind: str) -> str:
    from django.conf import settings

    return STATEMENTS[kind].format(voice_days=settings.VOICE_CLIP_RETENTION_DAYS)


def consent_active(*, user, kind: str) -> Consent | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Consent.objects.filter(user=user, kind=kind, revoked_at__isnull=True).first()


def consents_for(*, user) -> dict[str, Consent | None]:
    active = {c.kind: c for c in Consent.objects.filter(user=user, revoked_at__isnull=True)}
    return {kind: active.get(kind) for kind in Consent.Kind.values}


def consent_give(*, user, kind: str) -> Consent:
    """Record the agreement (idempotent: an active consent is returned as it is)."""
    if kind not in Consent.Kind.values:
        raise ValueError(f"unknown consent kind {kind!r}")
    try:
        with transaction.atomic():
            existing = consent_active(user=user, kind=kind)
            return existing or Consent.objects.create(user=user, kind=kind, statement=consent_statement(kind=kind))
    except IntegrityError:  # given twice at once: the other one won
        return consent_active(user=user, kind=kind)


def consent_revoke(*, user, kind: str) -> dict[str, int]:
    """Withdraw it and delete what it covered (each app's revoke hook); {kind: count deleted}."""
    from trainer_app.privacy.registry import privacy_revoke_hooks

    deleted: dict[str, int] = {}
    with transaction.atomic():
        Consent.objects.filter(user=user, kind=kind, revoked_at__isnull=True).update(revoked_at=timezone.now())
        for hook in privacy_revoke_hooks(kind=kind):
            for what, count in hook(user=user).items():
                deleted[what] = deleted.get(what, 0) + count
    return deleted
