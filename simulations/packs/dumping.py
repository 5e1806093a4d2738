"""Deterministic YAML output: sections in registry order, keys in documented
order (each section exports canonical dicts), block style, UTF-8 text."""

from __future__ import annotations

import yaml

from simulations.packs.registry import pack_sections
from simulations.packs.schema import PACK_VERSION


class _PackDumper(yaml.SafeDumper):
    pass


def _str_representer(dumper, value: str):
    # Multi-line text as a literal block reads (and diffs) better than quoted escapes.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_PackDumper.add_representer(str, _str_representer)


def pack_dump(*, sections: dict[str, list[dict]]) -> str:
    """A pack file from canonical section lists (empty sections omitted)."""
    data: dict = {"version": PACK_VERSION}
    for section in pack_sections():
        if sections.get(section.name):
            data[section.name] = sections[section.name]
    return yaml.dump(data, Dumper=_PackDumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
