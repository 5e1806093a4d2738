"""What each app holds about a person: export, erase and purge hooks, registered at start-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PersonalData:
    """One app's part of a person's export: JSON-able records, and files to include (archive name → path)."""

    records: dict = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class PrivacyContributor:
    name: str  # the export's section name ("sessions", "feedback", ...)
    export: Callable[..., PersonalData]  # export(user=...) -> PersonalData
    # erase(user=...) -> {kind: count}; runs inside the erasure's transaction; may register on_commit file deletions
    erase: Callable[..., dict[str, int]]
    # purge(now=...) -> {kind: count}: delete what has outlived its retention period
    purge: Callable[..., dict[str, int]] | None = None
    erase_order: int = 50  # lower erases first (apps that depend on others erase before them)


_contributors: dict[str, PrivacyContributor] = {}


def privacy_contributor_register(*, contributor: PrivacyContributor) -> None:
    _contributors[contributor.name] = contributor


def privacy_contributors() -> list[PrivacyContributor]:
    return sorted(_contributors.values(), key=lambda c: (c.erase_order, c.name))


_revoke_hooks: dict[str, list[Callable[..., dict[str, int]]]] = {}


def privacy_revoke_hook_register(*, kind: str, hook: Callable[..., dict[str, int]]) -> None:
    """``hook(user=...)`` deletes what a consent of ``kind`` covered, when it is withdrawn."""
    hooks = _revoke_hooks.setdefault(kind, [])
    if hook not in hooks:
        hooks.append(hook)


def privacy_revoke_hooks(*, kind: str) -> list[Callable[..., dict[str, int]]]:
    return list(_revoke_hooks.get(kind, []))
