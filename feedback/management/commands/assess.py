"""Assess utterances from a JSONL file with a framework's assessor; JSONL out, one line per good input line."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from feedback.engines.behaviour_coding.frameworks import BEHAVIOUR_CODING, assessor_build, framework_find

BATCH = 128


def assessment_line_parse(*, raw: str) -> dict:
    """The input line as {"id", "context", "utterance"}; ValueError saying what is wrong."""
    try:
        item = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from exc
    if not isinstance(item, dict):
        raise ValueError("not a JSON object")
    utterance = item.get("utterance")
    if not isinstance(utterance, str) or not utterance.strip():
        raise ValueError('"utterance" must be a non-empty string')
    context = item.get("context", [])
    if context is None:
        context = []
    if not isinstance(context, list) or not all(
        isinstance(turn, dict) and isinstance(turn.get("text"), str) for turn in context
    ):
        raise ValueError('"context" must be a list of {"speaker": ..., "text": ...} objects')
    return {"id": item.get("id"), "context": context, "utterance": utterance}


# Characters that many JSONL readers (and str.splitlines) treat as line breaks: escaped, so one
# record stays on one line whatever the utterance holds (found by fuzzing).
_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029", "\x1c": "\\u001c",
                "\x1d": "\\u001d", "\x1e": "\\u001e", "\x0b": "\\u000b", "\x0c": "\\u000c"}


def jsonl_line(record: dict) -> str:
    text = json.dumps(record, ensure_ascii=False)
    for char, escaped in _LINE_BREAKS.items():
        text = text.replace(char, escaped)
    return text + "\n"


def assessment_output(*, item: dict, assessment, kind: str) -> dict:
    out = {"id": item["id"]}
    if kind == BEHAVIOUR_CODING:
        out["labels"] = assessment.labels
    else:
        out["ratings"] = {skill.skill: skill.label for skill in assessment.items}
    out["feedback"] = assessment.feedback
    out["items"] = [
        {key: getattr(skill, key) for key in ("skill", "label", "confidence", "evidence", "suggestion", "rewrite")}
        for skill in assessment.items
    ]
    return out


def assessments_run(*, assessor, items: list[dict]) -> list:
    """Batched where the assessor supports it (shared embedding calls), one by one otherwise."""
    if hasattr(assessor, "assess_many"):
        return assessor.assess_many(items=[(item["utterance"], item["context"]) for item in items])
    return [assessor.assess(utterance=item["utterance"], context=item["context"]) for item in items]


def framework_assessor_load(*, slug: str):
    framework = framework_find(slug=slug)
    if framework is None:
        raise CommandError(f"framework {slug!r} not found in the database or the starter packs")
    try:
        return framework, assessor_build(framework=framework)
    except LookupError as exc:
        raise CommandError(str(exc)) from exc


class Command(BaseCommand):
    help = "Assess each JSONL line ({id, context, utterance}) with a framework; bad lines are reported and skipped."

    def add_arguments(self, parser):
        parser.add_argument("--framework", required=True, help="framework slug, e.g. mi")
        parser.add_argument("--input", required=True, type=Path)
        parser.add_argument("--output", required=True, type=Path)

    def handle(self, *args, **options):
        source: Path = options["input"]
        if not source.exists():
            raise CommandError(f"{source}: no such file")
        framework, assessor = framework_assessor_load(slug=options["framework"])
        kind = framework.get("kind", "")
        bad = written = 0
        pending: list[dict] = []
        with source.open(encoding="utf-8") as reader, options["output"].open("w", encoding="utf-8") as writer:

            def flush():
                nonlocal written
                for item, assessment in zip(pending, assessments_run(assessor=assessor, items=pending), strict=True):
                    writer.write(jsonl_line(assessment_output(item=item, assessment=assessment, kind=kind)))
                    written += 1
                pending.clear()

            for number, raw in enumerate(reader, start=1):
                if not raw.strip():
                    continue
                try:
                    pending.append(assessment_line_parse(raw=raw))
                except ValueError as exc:
                    bad += 1
                    self.stderr.write(f"{source}: line {number}: {exc}; skipped")
                    continue
                if len(pending) >= BATCH:
                    flush()
            if pending:
                flush()
        self.stderr.write(f"{written} assessed, {bad} bad line(s)")
        if bad:
            raise CommandError(f"{bad} bad line(s) in {source}")
