"""The core's part of a person's data: account, roles, cohorts, consents."""

from __future__ import annotations

from trainer_app.models import Consent
from trainer_app.privacy.registry import PersonalData, PrivacyContributor, privacy_contributor_register
from trainer_app.roles import user_role


def _export(*, user) -> PersonalData:
    return PersonalData(records={
        "account": {"username": user.get_username(), "email": user.email, "first_name": user.first_name,
                    "last_name": user.last_name, "date_joined": user.date_joined, "last_login": user.last_login,
                    "role": user_role(user=user)},
        "cohorts_member_of": list(user.cohorts.values_list("name", flat=True)),
        "cohorts_owned": list(user.cohorts_owned.values_list("name", flat=True)),
        "consents": list(Consent.objects.filter(user=user).values("kind", "statement", "given_at", "revoked_at")),
    })


def _erase(*, user) -> dict[str, int]:
    count, _ = Consent.objects.filter(user=user).delete()
    return {"consents": count}


def privacy_register_core() -> None:
    privacy_contributor_register(contributor=PrivacyContributor(name="account", export=_export, erase=_erase,
                                                                erase_order=90))
