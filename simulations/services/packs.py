"""Importing and exporting scenario packs (docs/scenario-packs.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from simulations.packs.dumping import pack_dump
from simulations.packs.loading import pack_load
from simulations.packs.registry import pack_sections
from simulations.packs.validation import pack_validate

STARTER_PACKS_DIR = Path(settings.BASE_DIR) / "simulations" / "starter_packs"
# Imported first: every other starter pack names its frameworks.
STARTER_PACKS_FIRST = ("frameworks.yaml",)
STARTER_PACKS_LAST = ("exams.yaml",)  # exam variants reuse the other packs' personas


@dataclass
class PackImportResult:
    errors: list[str] = field(default_factory=list)
    # "<section>": {"created": [slugs], "updated": [...], "unchanged": [...]}
    outcome: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, status: str) -> int:
        return sum(len(parts.get(status, [])) for parts in self.outcome.values())

    def summary(self) -> str:
        return ", ".join(f"{self.count(s)} {s}" for s in ("created", "updated", "unchanged"))


def pack_import(*, content: bytes | str, update: bool = False, user=None) -> PackImportResult:
    """All or nothing: every error is reported and nothing is written unless the
    whole pack is valid and imports cleanly."""
    loaded = pack_load(content=content)
    if loaded.errors:
        return PackImportResult(errors=loaded.errors)
    errors = pack_validate(data=loaded.data, update=update)
    if errors:
        return PackImportResult(errors=errors)
    result = PackImportResult()
    # One transaction: an exception in any section undoes every section.
    with transaction.atomic():
        for section in pack_sections():
            items = loaded.data.get(section.name)
            if items:
                result.outcome[section.name] = section.import_(items=items, update=update, user=user)
    return result


def pack_export(*, slugs: Iterable[str] = ()) -> str:
    """A pack with the named items (any section) plus everything they depend on;
    with no slugs, everything installed. Deterministic: the same content always
    exports to the same bytes."""
    sections = pack_sections()
    wanted: dict[str, set[str]] = {s.name: set() for s in sections}
    slugs = list(slugs)
    if not slugs:
        for section in sections:
            wanted[section.name] = {slug for slug, _ in (section.choices() if section.choices else [])}
    else:
        for section in sections:
            wanted[section.name] = {slug for slug in slugs if section.exists(slug=slug)}
    exported: dict[str, list[dict]] = {}
    # Dependents come after what they depend on, so walk backwards to pull dependencies in.
    for section in reversed(sections):
        exported[section.name] = section.export(slugs=sorted(wanted[section.name]))
        if section.dependencies:
            for item in exported[section.name]:
                for dep_section, dep_slugs in section.dependencies(item=item).items():
                    wanted.setdefault(dep_section, set()).update(dep_slugs)
    return pack_dump(sections=exported)


def pack_slugs_unknown(*, slugs: Iterable[str]) -> list[str]:
    """Slugs that name nothing installed in any section."""
    return [slug for slug in slugs if not any(section.exists(slug=slug) for section in pack_sections())]


def starter_pack_files(*, directory: Path | None = None) -> list[Path]:
    directory = directory or STARTER_PACKS_DIR
    files = sorted(directory.glob("*.yaml"))
    return sorted(files, key=lambda p: (p.name not in STARTER_PACKS_FIRST, p.name in STARTER_PACKS_LAST, p.name))


def starter_packs_load(*, user=None, directory: Path | None = None) -> dict[str, PackImportResult]:
    """Import every starter pack with update semantics; unchanged content is
    skipped, so running this twice changes nothing. Each file is its own
    all-or-nothing import."""
    return {
        path.name: pack_import(content=path.read_bytes(), update=True, user=user)
        for path in starter_pack_files(directory=directory)
    }
