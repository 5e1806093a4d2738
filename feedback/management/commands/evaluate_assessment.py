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


def labelled_jsonl_load(*, path: Path) -> tuple[list[dict], list[str]]:
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


def rubric_metrics(*, items: list[dict], assessments: list) -> dict:
    per_skill: dict = {}
    skills = sorted({skill for item in items for skill in (item.get("ratings") or {})})
    for skill in skills:
        pairs = [
            (item["ratings"][skill], {s.skill: s.label for s in assessment.items}.get(skill, NOT_CODED))
            for item, assessment in zip(items, assessments, strict=True)
            if skill in (item.get("ratings") or {})
        ]
        per_skill[skill] = classification_metrics(gold=[g for g, _ in pairs], predicted=[p for _, p in pairs])
    return {"skills": per_skill}


class Command(BaseCommand):
    help = "Evaluate an assessor against gold labels (AnnoMI CSV for MI, or JSONL with labels/ratings); prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--framework", required=True)
        parser.add_argument("--labelled", required=True, type=Path, help="AnnoMI .csv or .jsonl with gold labels")

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
            items, problems = labelled_jsonl_load(path=path)
        for problem in problems:
            self.stderr.write(f"{path}: {problem}; skipped")
        if not items:
            raise CommandError(f"{path}: nothing to evaluate")
        assessments = assessments_run(assessor=assessor, items=items)
        if kind == BEHAVIOUR_CODING:
            keep = [index for index, item in enumerate(items) if item.get("labels")]
            metrics = behaviour_coding_metrics(
                items=[items[i] for i in keep], assessments=[assessments[i] for i in keep], assessor=assessor
            )
        else:
            keep = [index for index, item in enumerate(items) if item.get("ratings")]
            metrics = rubric_metrics(items=[items[i] for i in keep], assessments=[assessments[i] for i in keep])
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
