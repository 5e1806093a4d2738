"""Pack sections: each top-level list of a pack (frameworks, personas,
scenarios) is handled by the app that owns its models.

simulations cannot import feedback, so feedback registers its ``frameworks``
section here from feedback/subscriptions.py (FeedbackConfig.ready)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class PackContext:
    """What a section validator may ask about the rest of the pack."""

    pack_slugs: dict[str, set[str]] = field(default_factory=dict)  # section -> slugs declared in this pack
    update: bool = False

    def slug_known(self, *, section: str, slug: str) -> bool:
        """In this pack, or already installed."""
        if slug in self.pack_slugs.get(section, set()):
            return True
        registered = pack_section_get(name=section)
        return bool(registered and registered.exists(slug=slug))


@dataclass(frozen=True)
class PackSection:
    name: str
    order: int
    # (*, items: list, path: str, context: PackContext) -> list[str]  ("path: message")
    validate: Callable[..., list[str]]
    # (*, items: list[dict], update: bool, user) -> dict[str, list[str]]  {"created": [...], "updated": [...], "unchanged": [...]}
    import_: Callable[..., dict[str, list[str]]]
    # (*, slugs: Iterable[str]) -> list[dict] in canonical form, stored order
    export: Callable[..., list[dict]]
    # (*, slug: str) -> bool   installed?
    exists: Callable[..., bool]
    # (*, item: dict) -> {section: [slugs]}: what an item needs (export pulls it in)
    dependencies: Callable[..., dict[str, list[str]]] | None = None
    # (*) -> list[(slug, label)] installed items, for pickers in the authoring UI
    choices: Callable[..., list[tuple[str, str]]] | None = None


_sections: dict[str, PackSection] = {}


def pack_section_register(
    *,
    name: str,
    validate: Callable,
    import_: Callable,
    export: Callable,
    exists: Callable,
    order: int = 100,
    dependencies: Callable | None = None,
    choices: Callable | None = None,
) -> None:
    """Register (or replace: ready() may run twice in tests) a pack section."""
    _sections[name] = PackSection(
        name=name,
        order=order,
        validate=validate,
        import_=import_,
        export=export,
        exists=exists,
        dependencies=dependencies,
        choices=choices,
    )


def pack_section_get(*, name: str) -> PackSection | None:
    return _sections.get(name)


def pack_sections() -> list[PackSection]:
    """In import order (dependencies first)."""
    return sorted(_sections.values(), key=lambda s: (s.order, s.name))


def pack_section_choices(*, name: str) -> list[tuple[str, str]]:
    section = _sections.get(name)
    return list(section.choices()) if section and section.choices else []
