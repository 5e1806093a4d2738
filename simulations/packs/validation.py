"""Whole-pack validation: top level, limits, duplicate slugs, then each
registered section's own rules. Pure: reads the database only to ask whether
a slug is installed."""

from __future__ import annotations

from simulations.packs.checks import Errors, check_list, check_mapping, check_unique, join, show
from simulations.packs.registry import PackContext, pack_sections
from simulations.packs.schema import PACK_VERSION, SECTION_LIMITS


def pack_validate(*, data, update: bool = False) -> list[str]:
    """Every error in the pack, each as ``path: message`` (empty list: valid)."""
    errors = Errors()
    sections = pack_sections()
    if check_mapping(data, "", errors, required=("version",), optional=tuple(s.name for s in sections)) is None:
        return errors
    if "version" in data and (data["version"] != PACK_VERSION or isinstance(data["version"], bool)):
        errors.add("version", f"{show(data['version'])} is not a supported pack version (this installation reads version {PACK_VERSION})")

    lists: dict[str, list] = {}
    pack_slugs: dict[str, set[str]] = {}
    for section in sections:
        if section.name not in data:
            continue
        items = check_list(data[section.name], section.name, errors, max_items=SECTION_LIMITS.get(section.name))
        lists[section.name] = items
        slugs = [(join(join(section.name, i), "slug"), item.get("slug")) for i, item in enumerate(items) if isinstance(item, dict)]
        check_unique([(p, s) for p, s in slugs if isinstance(s, str)], errors, what="slug")
        pack_slugs[section.name] = {s for _, s in slugs if isinstance(s, str)}
        if not update:
            for path, slug in slugs:
                if isinstance(slug, str) and section.exists(slug=slug):
                    errors.add(path, f"{show(slug)} already exists; import with update to replace it")

    context = PackContext(pack_slugs=pack_slugs, update=update)
    for section in sections:
        if section.name in lists:
            errors.extend(section.validate(items=lists[section.name], path=section.name, context=context))
    return list(errors)
