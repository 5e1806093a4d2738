"""Finding a framework by slug for the command-line tools, and the assessor for it.

Order: the database (installed frameworks, with instructor exemplars), then
the starter packs shipped in the repository, so the commands work on a
freshly migrated database with nothing imported.
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml

logger = logging.getLogger(__name__)

STARTER_PACKS = Path(__file__).resolve().parents[3] / "simulations" / "starter_packs"
BEHAVIOUR_CODING = "behaviour-coding"
# Last resort for MI only: its codes are fixed, so the coder needs nothing from the pack.
MI_FALLBACK = {"slug": "mi", "name": "Motivational interviewing behaviours", "kind": BEHAVIOUR_CODING, "targets": {}}


def _framework_from_database(*, slug: str) -> dict | None:
    from feedback.selectors.frameworks import framework_pack_dict  # here: needs the models, so Django set up

    try:
        return framework_pack_dict(slug=slug)
    except Exception as exc:  # no table yet, DB unreachable: fall back to the packs
        logger.info("framework %s: database lookup failed (%s); using starter packs", slug, exc)
        return None


def framework_from_starter_packs(*, slug: str, directory: Path = STARTER_PACKS) -> dict | None:
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            pack = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            logger.warning("starter pack %s unreadable: %s", path, exc)
            continue
        for framework in pack.get("frameworks") or []:
            if isinstance(framework, dict) and framework.get("slug") == slug:
                return framework
    return None


def framework_find(*, slug: str) -> dict | None:
    found = _framework_from_database(slug=slug) or framework_from_starter_packs(slug=slug)
    if found is None and slug == MI_FALLBACK["slug"]:
        found = dict(MI_FALLBACK)
    return found


def assessor_build(*, framework: dict):
    """BehaviourCoder for behaviour-coding frameworks; the shared registry for every other kind."""
    if framework.get("kind") == BEHAVIOUR_CODING:
        from feedback.engines.behaviour_coding.assessor import BehaviourCoder

        return BehaviourCoder(framework=framework)
    from feedback.engines.registry import assessor_for  # here: the registry loads every engine kind

    return assessor_for(framework=framework)
