"""Reading frameworks and their expert exemplars."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, QuerySet

from feedback.models import Exemplar, Framework
from feedback.pack_schema import EXEMPLAR, FRAMEWORK, FRAMEWORK_DATA_KEYS
from simulations.packs.schema import canonical


def exemplar_pack_dict(*, exemplar: Exemplar) -> dict:
    """An exemplar in pack format (unset optional fields omitted)."""
    return canonical(
        {
            "skill": exemplar.skill,
            "label": exemplar.label,
            "context": exemplar.context,
            "utterance": exemplar.utterance,
            "feedback": exemplar.feedback,
            "rewrite": exemplar.rewrite,
            "source": exemplar.source,
        },
        EXEMPLAR,
    )


def framework_pack_dict(*, slug: str, with_ids: bool = True) -> dict | None:
    """The framework in pack format, exemplars included, or None.

    Each exemplar also carries "id": str(pk), which the assessment engines use
    to cite the exemplars they were aligned to; packs export with
    ``with_ids=False`` (ids belong to one installation)."""
    framework = Framework.objects.filter(slug=slug).first()
    if framework is None:
        return None
    exemplars = []
    for exemplar in framework.exemplars.all():  # Meta.ordering: position, id (pack order)
        item = exemplar_pack_dict(exemplar=exemplar)
        if with_ids:
            item["id"] = str(exemplar.pk)
        exemplars.append(item)
    data = {key: framework.data.get(key) for key in FRAMEWORK_DATA_KEYS}
    result = canonical({"slug": framework.slug, "name": framework.name, "kind": framework.kind, **data}, FRAMEWORK)
    if exemplars:
        result["exemplars"] = exemplars
    return result


def framework_slugs_existing(*, slugs: Iterable[str]) -> list[str]:
    """The given slugs that name a framework, sorted."""
    return list(Framework.objects.filter(slug__in=list(slugs)).order_by("slug").values_list("slug", flat=True))


def framework_list() -> QuerySet[Framework]:
    return Framework.objects.annotate(exemplar_count=Count("exemplars"))


def framework_get(*, slug: str) -> Framework | None:
    return Framework.objects.filter(slug=slug).first()


def framework_exists(*, slug: str) -> bool:
    return Framework.objects.filter(slug=slug).exists()


def framework_choices() -> list[tuple[str, str]]:
    return list(Framework.objects.order_by("name").values_list("slug", "name"))


def framework_skill_labels(*, framework: Framework) -> dict[str, list[str]]:
    """Each skill slug with the labels it may take (its own, else the framework's)."""
    default = list(framework.data.get("labels") or [])
    return {skill["slug"]: list(skill.get("labels") or default) for skill in framework.data.get("skills") or []}
