"""Agreement of a framework's assessor with gold labels: AnnoMI CSV or JSONL in, JSON metrics out."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from feedback.engines.behaviour_coding.agreement import annotator_agreement
from feedback.engines.behaviour_coding.annomi import annomi_utterances_load
from feedback.engines.behaviour_coding.encoding import coding_input_build
from feedback.engines.behaviour_coding.frameworks import BEHAVIOUR_CODING
from feedback.engines.behaviour_coding.metrics import classification_metrics
from feedback.engines.behaviour_coding.training import SUBTYPE_LABELS
from feedback.management.commands.assess import assessment_line_parse, assessments_run, framework_assessor_load

BEHAVIOUR_OF_FAMILY = {"reflection": "reflection", "question": "question", "input": "therapist_input"}
NOT_CODED = "(not coded)"


def labelled_jsonl_load(*, path: Path, group_field: str | None = None) -> tuple[list[dict], list[str]]:
    """Items with gold "labels" (behaviour coding) or "ratings" (rubrics), and the problems of bad lines."""
    items, problems = [], []
    with path.open(encoding="utf-8") as reader:
        for number, raw in enumerate(reader, start=1):
            if not raw.strip():
                continue
            try:
                item = assessment_line_parse(raw=raw)
                gold = json.loads(raw)
                item["labels"] = gold.get("labels") if isinstance(gold.get("labels"), dict) else None
                item["ratings"] = gold.get("ratings") if isinstance(gold.get("ratings"), dict) else None
                if item["labels"] is None and item["ratings"] is None:
                    raise ValueError('no gold "labels" or "ratings" object')
                if group_field:
                    group = gold.get(group_field)
                    if not isinstance(group, str) or not group.strip():
                        raise ValueError(f'no "{group_field}" to group by (--leave-one-out-by)')
                    item["group"] = group
            except ValueError as exc:
                problems.append(f"line {number}: {exc}")
                continue
            items.append(item)
    return items, problems


def labelled_csv_load(*, path: Path) -> list[dict]:
    return [
        {
            "id": f"{example.group}:{index}",
            "utterance": example.utterance,
            "context": example.context,
            "labels": example.labels,
        }
        for index, example in enumerate(annomi_utterances_load(path=path))
    ]


def behaviour_coding_metrics(*, items: list[dict], assessments: list, assessor) -> dict:
    gold = [item["labels"] for item in items]
    predicted = [assessment.labels for assessment in assessments]
    scored = [index for index, labels in enumerate(gold) if labels.get("behaviour")]
    result = classification_metrics(
        gold=[gold[i]["behaviour"] for i in scored],
        predicted=[predicted[i]["behaviour"] for i in scored],
        labels=["reflection", "question", "therapist_input", "other"],
    )
    families: dict = {}
    # Subtypes given the gold family (what the sub-models alone get right), where the assessor exposes them.
    given_gold = {}
    if hasattr(assessor, "probabilities"):
        _, subtype_probabilities = assessor.probabilities(
            inputs=[coding_input_build(utterance=item["utterance"], context=item["context"]) for item in items]
        )
        for family, probabilities in subtype_probabilities.items():
            classes = assessor.model.subtypes[family].classes
            given_gold[family] = [classes[int(row.argmax())] for row in probabilities]
    for family, behaviour in BEHAVIOUR_OF_FAMILY.items():
        rows = [i for i in range(len(items)) if gold[i].get("behaviour") == behaviour and gold[i].get(family)]
        if not rows:
            continue
        families[family] = {
            # End to end: a wrong main behaviour counts as a miss of the subtype.
            "end_to_end": classification_metrics(
                gold=[gold[i][family] for i in rows],
                predicted=[predicted[i].get(family) or NOT_CODED for i in rows],
                labels=[*SUBTYPE_LABELS[family], NOT_CODED],
            ),
        }
        if family in given_gold:
            families[family]["given_gold_behaviour"] = classification_metrics(
                gold=[gold[i][family] for i in rows],
                predicted=[given_gold[family][i] for i in rows],
                labels=SUBTYPE_LABELS[family],
            )
    result["families"] = families
    return result


PRESENT, ABSENT = "present", "absent"


def _presence(label: str, absent_label: str) -> str:
    return ABSENT if label in (absent_label, NOT_CODED) else PRESENT


def rubric_metrics(*, items: list[dict], assessments: list, absent_labels: dict[str, str] | None = None) -> dict:
    """Per skill: the full label figures, exact agreement, and presence (any present label vs the absent one).

    ``absent_labels``: each skill's "absent" label (its last label); "absent" when not given.
    """
    absent_labels = absent_labels or {}
    per_skill: dict = {}
    skills = sorted({skill for item in items for skill in (item.get("ratings") or {})})
    for skill in skills:
        pairs = [
            (item["ratings"][skill], {s.skill: s.label for s in assessment.items}.get(skill, NOT_CODED))
            for item, assessment in zip(items, assessments, strict=True)
            if skill in (item.get("ratings") or {})
        ]
        figures = classification_metrics(gold=[g for g, _ in pairs], predicted=[p for _, p in pairs])
        absent = absent_labels.get(skill, "absent")
        presence = classification_metrics(
            gold=[_presence(g, absent) for g, _ in pairs], predicted=[_presence(p, absent) for _, p in pairs], labels=[PRESENT, ABSENT]
        )
        figures["exact_agreement"] = figures.get("accuracy", 0.0)
        figures["presence"] = {
            "macro_f1": presence.get("macro_f1", 0.0),
            "f1_present": presence.get("per_class", {}).get(PRESENT, {}).get("f1", 0.0),
            "precision_present": presence.get("per_class", {}).get(PRESENT, {}).get("precision", 0.0),
            "recall_present": presence.get("per_class", {}).get(PRESENT, {}).get("recall", 0.0),
            "accuracy": presence.get("accuracy", 0.0),
            "confusion_matrix": presence.get("confusion_matrix"),
        }
        per_skill[skill] = figures
    scored = [f for f in per_skill.values() if f.get("n")]
    summary = {
        "presence_macro_f1": round(sum(f["presence"]["macro_f1"] for f in scored) / len(scored), 4) if scored else 0.0,
        "presence_f1_present_macro": round(sum(f["presence"]["f1_present"] for f in scored) / len(scored), 4) if scored else 0.0,
        "min_presence_f1_present": min((f["presence"]["f1_present"] for f in scored), default=0.0),
        "exact_agreement": round(sum(f["exact_agreement"] for f in scored) / len(scored), 4) if scored else 0.0,
    }
    return {"summary": summary, "skills": per_skill}


def held_out_exemplars(*, items: list[dict]) -> list[dict]:
    """Labelled items as framework exemplars (one per rated skill), for leave-one-group-out runs."""
    return [
        {"skill": skill, "label": label, "utterance": item["utterance"], "context": item["context"], "source": "imported"}
        for item in items
        for skill, label in (item.get("ratings") or {}).items()
    ]


def leave_one_group_out_assess(*, framework: dict, items: list[dict]) -> list:
    """Assess each group's items with the framework plus the other groups' items as exemplars."""
    from feedback.engines.registry import assessor_for

    assessments: list = [None] * len(items)
    for group in sorted({item["group"] for item in items}):
        held_out = [i for i, item in enumerate(items) if item["group"] == group]
        rest = [item for item in items if item["group"] != group]
        fold = {**framework, "exemplars": list(framework.get("exemplars") or []) + held_out_exemplars(items=rest)}
        results = assessments_run(assessor=assessor_for(framework=fold), items=[items[i] for i in held_out])
        for i, result in zip(held_out, results, strict=True):
            assessments[i] = result
    return assessments


class Command(BaseCommand):
    help = "Evaluate an assessor against gold labels (AnnoMI CSV for MI, or JSONL with labels/ratings); prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--framework", required=True)
        parser.add_argument("--labelled", required=True, type=Path, help="AnnoMI .csv or .jsonl with gold labels")
        parser.add_argument(
            "--leave-one-out-by",
            default=None,
            metavar="FIELD",
            help="skill rubrics, JSONL: group lines by this field (e.g. situation); each group is assessed with the "
            "other groups' lines added to the framework's exemplars",
        )

    def handle(self, *args, **options):
        path: Path = options["labelled"]
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        framework, assessor = framework_assessor_load(slug=options["framework"])
        kind = framework.get("kind")
        problems: list[str] = []
        if path.suffix.lower() == ".csv":
            if kind != BEHAVIOUR_CODING:
                raise CommandError(
                    "a CSV must be AnnoMI format, which only a behaviour-coding framework can be evaluated on"
                )
            try:
                items = labelled_csv_load(path=path)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        else:
            items, problems = labelled_jsonl_load(path=path, group_field=options.get("leave_one_out_by"))
        for problem in problems:
            self.stderr.write(f"{path}: {problem}; skipped")
        if not items:
            raise CommandError(f"{path}: nothing to evaluate")
        group_field = options.get("leave_one_out_by")
        if group_field and (kind == BEHAVIOUR_CODING or path.suffix.lower() == ".csv"):
            raise CommandError("--leave-one-out-by is for skill-rubric frameworks and JSONL files")
        if group_field:
            assessments = leave_one_group_out_assess(framework=framework, items=items)
        else:
            assessments = assessments_run(assessor=assessor, items=items)
        if kind == BEHAVIOUR_CODING:
            keep = [index for index, item in enumerate(items) if item.get("labels")]
            metrics = behaviour_coding_metrics(
                items=[items[i] for i in keep], assessments=[assessments[i] for i in keep], assessor=assessor
            )
        else:
            keep = [index for index, item in enumerate(items) if item.get("ratings")]
            absent_labels = {
                skill["slug"]: list(skill.get("labels") or framework.get("labels") or ["absent"])[-1]
                for skill in framework.get("skills") or []
            }
            metrics = rubric_metrics(
                items=[items[i] for i in keep], assessments=[assessments[i] for i in keep], absent_labels=absent_labels
            )
            if group_field:
                metrics["leave_one_out_by"] = group_field
                metrics["groups"] = len({item["group"] for item in items})
        report = {
            "framework": framework.get("slug"),
            "kind": kind,
            "file": str(path),
            "skipped_lines": len(problems),
            **metrics,
        }
        if path.suffix.lower() == ".csv":
            # Where several experts coded the same utterances: how far they agree with each other.
            report["annotator_agreement"] = annotator_agreement(path=path)
        self.stdout.write(json.dumps(report, indent=2))
        if problems:
            raise CommandError(f"{len(problems)} bad line(s) in {path}")
