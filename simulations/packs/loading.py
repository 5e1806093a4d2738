"""Reading a pack file safely.

- Only plain YAML data is accepted: the SafeLoader never builds Python
  objects, and we refuse every tag that is not a plain map, list, text,
  number, boolean or null (so a ``!!python/object`` is reported, not executed).
- The file size is capped (settings.PACK_MAX_BYTES).
- Anchors/aliases are measured as if expanded *before* anything walks the
  data: a "billion laughs" file is small on disk but huge once expanded.
- Duplicate keys are errors (YAML would silently keep the last one)."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from django.conf import settings

ALLOWED_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}
# Expanded-size limits: generous for real packs (the starter packs are ~10k nodes).
MAX_EXPANDED_NODES = 500_000
MAX_EXPANDED_CHARS_FACTOR = 4  # expanded text may be at most 4x the file size limit


class PackLoader(yaml.SafeLoader):
    """SafeLoader that reads dates as text (a pack has no date fields)."""


PackLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class LoadResult:
    data: dict | None = None
    errors: list[str] = field(default_factory=list)


def _where(node) -> str:
    return f"line {node.start_mark.line + 1}"


def _measure(root, errors: list[str]) -> None:
    """Expanded node count and text size, memoised per node so an alias costs
    one lookup (linear time even for a bomb); cycles are refused."""
    sizes: dict[int, tuple[int, int]] = {}
    in_progress: set[int] = set()
    char_limit = settings.PACK_MAX_BYTES * MAX_EXPANDED_CHARS_FACTOR

    def visit(node) -> tuple[int, int]:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise ValueError(f"{_where(node)}: an alias refers to itself (recursive data is not allowed)")
        if node.tag not in ALLOWED_TAGS:
            raise ValueError(
                f"{_where(node)}: the tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed "
                "(a pack holds plain data only)"
            )
        in_progress.add(key)
        count, chars = 1, 0
        if isinstance(node, yaml.ScalarNode):
            chars = len(node.value)
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode):
                seen: set = set()
                for key_node, _ in node.value:
                    if isinstance(key_node, yaml.ScalarNode):
                        if key_node.value in seen:
                            raise ValueError(f"{_where(key_node)}: the key {key_node.value!r} appears twice in one mapping")
                        seen.add(key_node.value)
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        raise ValueError(f"{_where(key_node)}: merge keys (<<) are not allowed")
            for child in children:
                c_count, c_chars = visit(child)
                count += c_count
                chars += c_chars
                if count > MAX_EXPANDED_NODES or chars > char_limit:
                    raise ValueError(
                        f"{_where(node)}: the pack expands to more than the allowed size "
                        "(anchors and aliases that multiply content are refused)"
                    )
        in_progress.discard(key)
        sizes[key] = (count, chars)
        return sizes[key]

    try:
        visit(root)
    except ValueError as exc:
        errors.append(str(exc))
    except RecursionError:
        errors.append("the pack is nested too deeply")


def yaml_fragment_load(*, text: str):
    """One part of a pack typed into a form (e.g. a persona's script), read
    with the same protections as a whole pack. Returns (value, error)."""
    if len(text.encode("utf-8")) > settings.PACK_MAX_BYTES:
        return None, "is larger than a whole pack may be"
    try:
        root = yaml.compose(text, Loader=PackLoader)
    except yaml.YAMLError as exc:
        return None, f"is not valid YAML: {exc}"
    if root is None:
        return None, None
    errors: list[str] = []
    _measure(root, errors)
    if errors:
        return None, errors[0]
    return yaml.load(text, Loader=PackLoader), None  # noqa: S506 - PackLoader is a SafeLoader


def pack_load(*, content: bytes | str) -> LoadResult:
    """Parse a pack file into plain data, or explain why not."""
    raw = content.encode("utf-8") if isinstance(content, str) else content
    limit = settings.PACK_MAX_BYTES
    if len(raw) > limit:
        return LoadResult(errors=[f"the file is {len(raw):,} bytes; the limit is {limit:,} bytes"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return LoadResult(errors=["the file is not UTF-8 text"])
    try:
        root = yaml.compose(text, Loader=PackLoader)  # nodes only: nothing constructed yet
    except yaml.YAMLError as exc:
        return LoadResult(errors=[f"not valid YAML: {exc}"])
    except RecursionError:  # found by fuzzing: "[[[[...]]]]" thousands deep overflows the parser
        return LoadResult(errors=["the file nests lists or mappings too deeply to be a scenario pack"])
    if root is None:
        return LoadResult(errors=["the file is empty"])
    errors: list[str] = []
    _measure(root, errors)
    if errors:
        return LoadResult(errors=errors)
    try:
        loader = PackLoader(text)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        return LoadResult(errors=[f"not valid YAML: {exc}"])
    except RecursionError:
        return LoadResult(errors=["the file nests lists or mappings too deeply to be a scenario pack"])
    if not isinstance(data, dict):
        return LoadResult(errors=["the top level must be a mapping with version, frameworks, personas and scenarios"])
    return LoadResult(data=data)
