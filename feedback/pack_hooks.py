"""The `frameworks` section's import and export hooks, registered into
simulations' pack section registry from feedback/subscriptions.py (with
``pack_schema.frameworks_validate``)."""

from __future__ import annotations

from collections.abc import Iterable

from feedback.selectors.frameworks import framework_pack_dict, framework_slugs_existing
from feedback.services.frameworks import framework_save


def frameworks_import(*, items: list[dict], update: bool, user=None) -> dict[str, list[str]]:
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    for item in items:
        framework, status = framework_save(data=item, user=user)
        outcome[status].append(framework.slug)
    return outcome


def frameworks_export(*, slugs: Iterable[str]) -> list[dict]:
    return [framework_pack_dict(slug=slug, with_ids=False) for slug in framework_slugs_existing(slugs=slugs)]
