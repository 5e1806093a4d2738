"""Writing frameworks and expert exemplars."""

from __future__ import annotations

import json

from django.db import transaction

from feedback.models import Exemplar, Framework
from feedback.pack_schema import EXEMPLAR, FRAMEWORK, FRAMEWORK_DATA_KEYS
from simulations.packs.schema import canonical


def _exemplar_key(item: dict) -> tuple:
    return (item["skill"], item["label"], item["utterance"], json.dumps(item.get("context") or [], sort_keys=True))


@transaction.atomic
def framework_save(*, data: dict, user=None) -> tuple[Framework, str]:
    """Create or update a framework (with exemplars) from validated pack data.

    Returns the framework and "created", "updated" or "unchanged". Existing
    exemplars are matched by (skill, label, utterance, context) and kept, so
    anything that cites them survives a re-import; exemplars no longer in the
    pack are deleted, except instructor corrections, which belong to this
    installation and are kept after the pack's ones."""
    data = canonical(data, FRAMEWORK)
    fields = {key: data[key] for key in FRAMEWORK_DATA_KEYS if key in data}
    incoming = [canonical(e, EXEMPLAR) for e in data.get("exemplars") or []]
    framework = Framework.objects.filter(slug=data["slug"]).first()
    if framework is None:
        framework = Framework.objects.create(slug=data["slug"], kind=data["kind"], name=data["name"], data=fields)
        Exemplar.objects.bulk_create(
            [_exemplar_from(item, framework=framework, position=i, user=user) for i, item in enumerate(incoming)]
        )
        return framework, "created"

    changed = False
    if (framework.kind, framework.name, framework.data) != (data["kind"], data["name"], fields):
        framework.kind, framework.name, framework.data = data["kind"], data["name"], fields
        framework.save()
        changed = True
    existing: dict[tuple, list[Exemplar]] = {}
    for exemplar in framework.exemplars.all():
        existing.setdefault(_exemplar_key(_exemplar_as_item(exemplar)), []).append(exemplar)
    for position, item in enumerate(incoming):
        matches = existing.get(_exemplar_key(item))
        if matches:
            exemplar = matches.pop(0)
            wanted = {"feedback": item.get("feedback", ""), "rewrite": item.get("rewrite", ""),
                      "source": item.get("source", Exemplar.Source.AUTHORED), "position": position}
            if any(getattr(exemplar, k) != v for k, v in wanted.items()):
                for key, value in wanted.items():
                    setattr(exemplar, key, value)
                exemplar.save(update_fields=list(wanted))
                changed = True
        else:
            _exemplar_from(item, framework=framework, position=position, user=user).save()
            changed = True
    position = len(incoming)
    for leftover in (e for group in existing.values() for e in group):
        if leftover.source == Exemplar.Source.CORRECTION:
            if leftover.position != position:
                leftover.position = position
                leftover.save(update_fields=["position"])
                changed = True
            position += 1
        else:
            leftover.delete()
            changed = True
    return framework, "updated" if changed else "unchanged"


def _exemplar_as_item(exemplar: Exemplar) -> dict:
    return {"skill": exemplar.skill, "label": exemplar.label, "utterance": exemplar.utterance, "context": exemplar.context}


def _exemplar_from(item: dict, *, framework: Framework, position: int, user=None) -> Exemplar:
    return Exemplar(
        framework=framework,
        skill=item["skill"],
        label=item["label"],
        context=item.get("context") or [],
        utterance=item["utterance"],
        feedback=item.get("feedback", ""),
        rewrite=item.get("rewrite", ""),
        source=item.get("source", Exemplar.Source.AUTHORED),
        position=position,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )


def exemplar_create(
    *,
    framework: Framework,
    skill: str,
    label: str,
    utterance: str,
    context: list | None = None,
    feedback: str = "",
    rewrite: str = "",
    source: str = Exemplar.Source.AUTHORED,
    user=None,
) -> Exemplar:
    """A new exemplar at the end of the framework's list (validate skill/label first)."""
    last = framework.exemplars.order_by("-position").values_list("position", flat=True).first()
    exemplar = Exemplar(framework=framework, skill=skill, label=label, utterance=utterance, context=context or [],
                        feedback=feedback, rewrite=rewrite, source=source,
                        position=0 if last is None else last + 1,
                        created_by=user if getattr(user, "is_authenticated", False) else None)
    exemplar.save()
    return exemplar


def exemplar_update(*, exemplar: Exemplar, skill: str, label: str, utterance: str, context: list | None = None,
                    feedback: str = "", rewrite: str = "", source: str | None = None) -> Exemplar:
    exemplar.skill, exemplar.label, exemplar.utterance = skill, label, utterance
    exemplar.context, exemplar.feedback, exemplar.rewrite = context or [], feedback, rewrite
    if source:
        exemplar.source = source
    exemplar.save()
    return exemplar


def exemplar_delete(*, exemplar: Exemplar) -> None:
    exemplar.delete()
