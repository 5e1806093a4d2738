"""Small validators shared by every pack section. Each appends plain-words
errors of the form ``path: message`` and returns the value when usable."""

from __future__ import annotations

from simulations.packs.schema import SLUG_RE, TEXT_MAX_CHARS


class Errors(list):
    """A list of ``path: message`` strings."""

    def add(self, path: str, message: str) -> None:
        self.append(f"{path}: {message}" if path else message)


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def show(value) -> str:
    """A short, quoted rendering of a bad value for messages."""
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f'"{text}"'
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    return repr(value)


def check_mapping(value, path: str, errors: Errors, *, required: tuple = (), optional: tuple = ()) -> dict | None:
    """A mapping with exactly the allowed keys (unknown keys are errors: typos must not pass silently)."""
    if not isinstance(value, dict):
        errors.add(path, f"must be a mapping of keys to values, not {show(value)}")
        return None
    allowed = (*required, *optional)
    for key in value:
        if not isinstance(key, str):
            errors.add(path, f"key {show(key)} must be text")
        elif key not in allowed:
            errors.add(join(path, key), f"unknown key (allowed here: {', '.join(allowed)})")
    for key in required:
        if key not in value:
            errors.add(join(path, key), "is required")
    return value


def check_text(value, path: str, errors: Errors, *, required: bool = True, max_chars: int = TEXT_MAX_CHARS) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        errors.add(path, f"must be text, not {show(value)}")
        return None
    if required and not value.strip():
        errors.add(path, "must not be empty")
        return None
    if len(value) > max_chars:
        errors.add(path, f"is {len(value)} characters long; the limit is {max_chars}")
        return None
    return value


def check_slug(value, path: str, errors: Errors) -> str | None:
    if not isinstance(value, str) or not SLUG_RE.match(value):
        errors.add(
            path,
            f"{show(value)} is not a valid slug (lowercase letters, digits and hyphens, 1-80 characters, "
            "starting with a letter or digit)",
        )
        return None
    return value


def check_enum(value, path: str, errors: Errors, *, choices: tuple, what: str | None = None) -> str | None:
    if value not in choices or not isinstance(value, str):
        errors.add(path, f"{show(value)} is not {what or 'one of ' + ', '.join(choices)}")
        return None
    return value


def check_number(value, path: str, errors: Errors, *, low: float | None = None, high: float | None = None,
                 integer: bool = False, low_exclusive: bool = False) -> float | None:
    kinds = (int,) if integer else (int, float)
    # bool is an int in Python; a pack's `true` is not a number.
    if isinstance(value, bool) or not isinstance(value, kinds):
        errors.add(path, f"must be {'a whole number' if integer else 'a number'}, not {show(value)}")
        return None
    if low is not None and (value <= low if low_exclusive else value < low):
        errors.add(path, f"{value} is too small (must be {'more than' if low_exclusive else 'at least'} {low})")
        return None
    if high is not None and value > high:
        errors.add(path, f"{value} is too large (must be at most {high})")
        return None
    return value


def check_bool(value, path: str, errors: Errors) -> bool | None:
    if not isinstance(value, bool):
        errors.add(path, f"must be true or false, not {show(value)}")
        return None
    return value


def check_list(value, path: str, errors: Errors, *, min_items: int = 0, max_items: int | None = None) -> list:
    if not isinstance(value, list):
        errors.add(path, f"must be a list, not {show(value)}")
        return []
    if len(value) < min_items:
        errors.add(path, f"needs at least {min_items} item{'s' if min_items != 1 else ''}")
    if max_items is not None and len(value) > max_items:
        errors.add(path, f"has {len(value)} items; the limit is {max_items}")
        return []
    return value


def check_text_list(value, path: str, errors: Errors, *, min_items: int = 0) -> list[str]:
    items = check_list(value, path, errors, min_items=min_items)
    return [text for i, item in enumerate(items) if (text := check_text(item, join(path, i), errors)) is not None]


def check_unique(items: list[tuple[str, object]], errors: Errors, *, what: str) -> None:
    """``items`` are (path, value) pairs; every repeat after the first is an error."""
    seen: set = set()
    for path, value in items:
        if value is None:
            continue
        if value in seen:
            errors.add(path, f"{what} {show(value)} appears more than once")
        seen.add(value)
