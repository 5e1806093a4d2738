"""Validation of scenarios (docs/scenario-packs.md, "Scenarios")."""

from __future__ import annotations

from simulations.packs.checks import (
    Errors,
    check_bool,
    check_enum,
    check_list,
    check_mapping,
    check_number,
    check_slug,
    check_text,
    check_text_list,
    join,
    show,
)
from simulations.packs.registry import PackContext
from simulations.packs.schema import DIFFICULTY_LEVELS, MODE_DEFAULTS, MODES, SCENARIO_STYLES, TIME_LIMIT_RANGE

REQUIRED = ("slug", "title", "persona", "frameworks", "brief", "opening_line")
OPTIONAL = ("learning_objectives", "difficulty", "style", "time_limit_minutes", "modes")


def scenario_validate(*, item, path: str, errors: Errors, context: PackContext) -> None:
    """Validate one scenario; persona and framework slugs must be in the pack or installed."""
    if check_mapping(item, path, errors, required=REQUIRED, optional=OPTIONAL) is None:
        return
    if "slug" in item:
        check_slug(item["slug"], join(path, "slug"), errors)
    for key in ("title", "brief", "opening_line"):
        if key in item:
            check_text(item[key], join(path, key), errors)
    if (
        "persona" in item
        and check_slug(item["persona"], join(path, "persona"), errors)
        and not context.slug_known(section="personas", slug=item["persona"])
    ):
        errors.add(join(path, "persona"), f"no persona {show(item['persona'])} in this pack or installed")
    if "frameworks" in item:
        frameworks_path = join(path, "frameworks")
        for i, slug in enumerate(check_list(item["frameworks"], frameworks_path, errors, min_items=1)):
            if check_slug(slug, join(frameworks_path, i), errors) and not context.slug_known(section="frameworks", slug=slug):
                errors.add(join(frameworks_path, i), f"no framework {show(slug)} in this pack or installed")
    if "learning_objectives" in item:
        check_text_list(item["learning_objectives"], join(path, "learning_objectives"), errors)
    if "difficulty" in item:
        difficulty_validate(item=item["difficulty"], path=join(path, "difficulty"), errors=errors)
    if "style" in item and item["style"] != "":
        check_enum(item["style"], join(path, "style"), errors, choices=SCENARIO_STYLES)
    if "time_limit_minutes" in item:
        low, high = TIME_LIMIT_RANGE
        check_number(item["time_limit_minutes"], join(path, "time_limit_minutes"), errors, low=low, high=high, integer=True)
    if "modes" in item:
        modes_path = join(path, "modes")
        if check_mapping(item["modes"], modes_path, errors, optional=MODES) is not None:
            for mode in MODES:
                if mode in item["modes"]:
                    check_bool(item["modes"][mode], join(modes_path, mode), errors)
            effective = {**MODE_DEFAULTS, **item["modes"]}
            if effective["text"] is False and effective["voice"] is False:
                errors.add(modes_path, "at least one of text and voice must be on")


def difficulty_validate(*, item, path: str, errors: Errors) -> None:
    optional = ("trust_gain", "disclosure_thresholds", "hostility", "concession_rate")
    if check_mapping(item, path, errors, required=("level",), optional=optional) is None:
        return
    if "level" in item:
        check_enum(item["level"], join(path, "level"), errors, choices=DIFFICULTY_LEVELS)
    if "trust_gain" in item:
        check_number(item["trust_gain"], join(path, "trust_gain"), errors, low=0, high=5, low_exclusive=True)
    for key in ("hostility", "concession_rate"):
        if key in item:
            check_number(item[key], join(path, key), errors, low=0, high=1)
    if "disclosure_thresholds" in item:
        thresholds_path = join(path, "disclosure_thresholds")
        values = check_list(item["disclosure_thresholds"], thresholds_path, errors)
        if isinstance(item["disclosure_thresholds"], list) and len(values) != 4:
            errors.add(thresholds_path, "needs exactly 4 numbers (situation, automatic thoughts, intermediate beliefs, core beliefs)")
            return
        numbers = [check_number(v, join(thresholds_path, i), errors, low=0, high=1) for i, v in enumerate(values)]
        if None not in numbers and numbers != sorted(numbers):
            errors.add(thresholds_path, "must not decrease (each level needs at least the trust of the one before)")
