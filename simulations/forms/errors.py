"""Put pack-validator errors ("path: message") on the form field they belong to."""

from __future__ import annotations

import re

import yaml
from django import forms

from simulations.packs.dumping import _PackDumper

_FIRST_SEGMENT = re.compile(r"^([A-Za-z_]+)((?:\.[A-Za-z_]+)?)")


def pack_errors_to_form(*, form: forms.Form, errors: list[str], field_for: dict[str, str] | None = None) -> None:
    """``field_for`` maps a pack path prefix ("voice.pitch", "difficulty") to a
    form field; otherwise the first path segment names the field. The path is
    kept in the message when it points inside a YAML field."""
    field_for = field_for or {}
    for error in errors:
        path, _, message = error.partition(": ")
        match = _FIRST_SEGMENT.match(path)
        first, second = (match.group(1), match.group(1) + match.group(2)) if match else ("", "")
        field = field_for.get(second) or field_for.get(first) or (first if first in form.fields else None)
        if field and field in form.fields:
            # Within a structured field the rest of the path says where: "core_beliefs[0]: ...".
            rest = path[len(first):].lstrip(".") if field == first else ""
            form.add_error(field, f"{rest}: {message}" if rest else message[:1].upper() + message[1:])
        else:
            form.add_error(None, error)


def yaml_text(value) -> str:
    """A nested part of a pack as YAML for a textarea ("" when unset)."""
    if value in (None, "", [], {}):
        return ""
    return yaml.dump(value, Dumper=_PackDumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
