"""The `frameworks` section of scenario packs (docs/scenario-packs.md,
"Frameworks"): its shapes and its validation. Imports nothing else of feedback,
so the selectors and services that read and write frameworks can import it;
the import/export hooks that call them live in ``feedback.pack_hooks``."""

from __future__ import annotations

from simulations.packs.checks import (
    Errors,
    check_enum,
    check_list,
    check_mapping,
    check_number,
    check_slug,
    check_text,
    check_text_list,
    check_unique,
    join,
    show,
)
from simulations.packs.registry import PackContext
from simulations.packs.schema import EXEMPLARS_MAX, Shape

FRAMEWORK_KINDS = ("skill-rubric", "behaviour-coding", "formulation", "teaching-feedback")
EXEMPLAR_SOURCES = ("authored", "imported", "instructor-correction")
CONTEXT_SPEAKERS = ("trainee", "partner")
LABEL_MAX_CHARS = 40

SKILL = Shape(("slug", "name", "definition", "guidance", "labels", "levels"))
CONTEXT_LINE = Shape(("speaker", "text"))
EXEMPLAR = Shape(("skill", "label", "context", "utterance", "feedback", "rewrite", "source"), {"context": [CONTEXT_LINE]})
FRAMEWORK = Shape(
    ("slug", "name", "kind", "description", "labels", "skills", "targets", "exemplars"),
    {"skills": [SKILL], "exemplars": [EXEMPLAR]},
)
# What Framework.data holds: the pack form minus identity columns and exemplars (own table).
FRAMEWORK_DATA_KEYS = ("description", "labels", "skills", "targets")


def _labels(value, path: str, errors: Errors, *, min_items: int = 1) -> list[str]:
    labels = check_text_list(value, path, errors, min_items=min_items)
    for i, label in enumerate(labels):
        if len(label) > LABEL_MAX_CHARS:
            errors.add(join(path, i), f"is longer than {LABEL_MAX_CHARS} characters")
    check_unique([(join(path, i), label) for i, label in enumerate(labels)], errors, what="label")
    return labels


def _levels(value, path: str, errors: Errors, *, labels: list[str]) -> None:
    """What each label of a skill means: a mapping of the skill's labels to text."""
    if not isinstance(value, dict):
        errors.add(path, f"must be a mapping of the skill's labels to what each means, not {show(value)}")
        return
    for key, text in value.items():
        if key not in labels:
            errors.add(join(path, str(key)), f"{show(key)} is not a label of this skill ({', '.join(labels) or 'none'})")
        else:
            check_text(text, join(path, key), errors)


def framework_validate(*, item, path: str, errors: Errors) -> None:
    """Validate one framework with its exemplars."""
    required = ("slug", "name", "kind", "labels", "skills")
    if check_mapping(item, path, errors, required=required, optional=("description", "targets", "exemplars")) is None:
        return
    if "slug" in item:
        check_slug(item["slug"], join(path, "slug"), errors)
    if "name" in item:
        check_text(item["name"], join(path, "name"), errors, max_chars=120)
    if "kind" in item:
        check_enum(item["kind"], join(path, "kind"), errors, choices=FRAMEWORK_KINDS)
    if "description" in item:
        check_text(item["description"], join(path, "description"), errors, required=False)
    framework_labels = _labels(item["labels"], join(path, "labels"), errors) if "labels" in item else []

    skill_labels: dict[str, list[str]] = {}
    if "skills" in item:
        skills_path = join(path, "skills")
        slugs = []
        for i, skill in enumerate(check_list(item["skills"], skills_path, errors, min_items=1)):
            skill_path = join(skills_path, i)
            if check_mapping(skill, skill_path, errors, required=("slug", "name", "definition"), optional=("guidance", "labels", "levels")) is None:
                continue
            slug = check_slug(skill.get("slug"), join(skill_path, "slug"), errors) if "slug" in skill else None
            slugs.append((join(skill_path, "slug"), slug))
            for key in ("name", "definition"):
                if key in skill:
                    check_text(skill[key], join(skill_path, key), errors)
            if "guidance" in skill:
                check_text(skill["guidance"], join(skill_path, "guidance"), errors, required=False)
            labels = _labels(skill["labels"], join(skill_path, "labels"), errors) if "labels" in skill else framework_labels
            if "levels" in skill:
                _levels(skill["levels"], join(skill_path, "levels"), errors, labels=labels)
            if slug:
                skill_labels[slug] = labels
        check_unique(slugs, errors, what="skill")

    if "targets" in item:
        targets_path = join(path, "targets")
        # Free-form names (each framework has its own summary figures), numeric values.
        if not isinstance(item["targets"], dict):
            errors.add(targets_path, f"must be a mapping of figure names to numbers, not {show(item['targets'])}")
        else:
            for key, value in item["targets"].items():
                if not isinstance(key, str) or not key:
                    errors.add(targets_path, f"the figure name {show(key)} must be text")
                else:
                    check_number(value, join(targets_path, key), errors)

    if "exemplars" in item:
        exemplars_path = join(path, "exemplars")
        for i, exemplar in enumerate(check_list(item["exemplars"], exemplars_path, errors, max_items=EXEMPLARS_MAX)):
            exemplar_validate(item=exemplar, path=join(exemplars_path, i), errors=errors, skill_labels=skill_labels)


def exemplar_validate(*, item, path: str, errors: Errors, skill_labels: dict[str, list[str]]) -> None:
    """One exemplar; ``skill_labels`` maps each skill slug of its framework to the labels it may take."""
    optional = ("context", "feedback", "rewrite", "source")
    if check_mapping(item, path, errors, required=("skill", "label", "utterance"), optional=optional) is None:
        return
    skill = item.get("skill")
    if "skill" in item and skill not in skill_labels:
        errors.add(join(path, "skill"), f"{show(skill)} is not a skill of this framework ({', '.join(skill_labels) or 'none'})")
    elif "label" in item and item["label"] not in skill_labels.get(skill, []):
        errors.add(join(path, "label"), f"{show(item['label'])} is not a label of {skill} ({', '.join(skill_labels[skill])})")
    if "utterance" in item:
        check_text(item["utterance"], join(path, "utterance"), errors)
    for key in ("feedback", "rewrite"):
        if key in item:
            check_text(item[key], join(path, key), errors, required=False)
    if "source" in item:
        check_enum(item["source"], join(path, "source"), errors, choices=EXEMPLAR_SOURCES)
    if "context" in item:
        context_path = join(path, "context")
        for i, line in enumerate(check_list(item["context"], context_path, errors, max_items=20)):
            line_path = join(context_path, i)
            if check_mapping(line, line_path, errors, required=("speaker", "text")) is None:
                continue
            if "speaker" in line:
                check_enum(line["speaker"], join(line_path, "speaker"), errors, choices=CONTEXT_SPEAKERS)
            if "text" in line:
                check_text(line["text"], join(line_path, "text"), errors)


def frameworks_validate(*, items: list, path: str, context: PackContext) -> list[str]:
    errors = Errors()
    for i, item in enumerate(items):
        framework_validate(item=item, path=join(path, i), errors=errors)
    total = sum(len(item.get("exemplars") or []) for item in items if isinstance(item, dict) and isinstance(item.get("exemplars"), list))
    if total > EXEMPLARS_MAX:
        errors.add(path, f"the pack has {total} exemplars; the limit is {EXEMPLARS_MAX}")
    return errors
