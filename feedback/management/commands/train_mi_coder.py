"""Train the offline MI behaviour coder from an AnnoMI-format CSV and write the shipped artifact."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import sklearn
from django.core.management.base import BaseCommand, CommandError

from feedback.engines.behaviour_coding.annomi import annomi_utterances_load, file_sha256
from feedback.engines.behaviour_coding.model import DEFAULT_ARTIFACT, coder_model_save
from feedback.engines.behaviour_coding.training import (
    coder_cross_validate,
    coder_texts,
    coder_train,
    embedding_lookup_build,
)

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "engines" / "behaviour_coding"


# The modules that decide the artifact's contents (assessor and suggestions only read it).
TRAINING_MODULES = ("annomi.py", "features.py", "encoding.py", "model.py", "training.py", "metrics.py")


def code_version() -> str:
    """sha256 over the source files that shape the artifact: works with or without git history."""
    digest = hashlib.sha256()
    for path in (PACKAGE_DIR / name for name in TRAINING_MODULES):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Train the MI behaviour coder (AnnoMI CSV in, .npz + JSON card out), with transcript-grouped CV figures."

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, type=Path, help="AnnoMI-format CSV")
        parser.add_argument(
            "--output", type=Path, default=DEFAULT_ARTIFACT, help=f"artifact .npz (default {DEFAULT_ARTIFACT})"
        )
        parser.add_argument("--folds", type=int, default=5, help="grouped CV folds (by transcript); 0 skips CV")

    def handle(self, *args, **options):
        data: Path = options["data"]
        output: Path = options["output"]
        if not data.exists():
            raise CommandError(f"{data}: no such file")
        if output.suffix != ".npz":
            raise CommandError(f"{output}: the artifact must be a .npz file")
        started = time.monotonic()
        try:
            examples = annomi_utterances_load(path=data)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not examples:
            raise CommandError(f"{data}: no coded therapist utterances")
        self.stderr.write(
            f"{len(examples)} therapist utterances from {len({e.group for e in examples})} transcripts; embedding…"
        )
        vector_of = embedding_lookup_build(texts=coder_texts(examples=examples))
        figures = {}
        if options["folds"]:
            self.stderr.write(f"grouped {options['folds']}-fold cross-validation…")
            figures = coder_cross_validate(examples=examples, vector_of=vector_of, folds=options["folds"])
        card = {
            "model": "offline MI behaviour coder (embedding LR + n-gram LR blend, subtype LRs)",
            "format": "numpy .npz (allow_pickle=False) + this JSON",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": f"python manage.py train_mi_coder --data {data} --output {output} --folds {options['folds']}",
            "code_version_sha256": code_version(),
            "data": {
                "file": data.name,
                "sha256": file_sha256(path=data),
                "transcripts": len({example.group for example in examples}),
                "therapist_utterances": len(examples),
                "deduplication": "one label set per utterance: majority main behaviour, subtypes of the first annotator who chose it",
            },
            "embeddings": "all-MiniLM-L6-v2 (trainer_app.engines.embeddings), L2-normalised, 384-d",
            "environment": {"python": platform.python_version(), "scikit_learn": sklearn.__version__},
            "cross_validation": figures,
        }
        model = coder_train(examples=examples, vector_of=vector_of, card=card)
        card["seconds"] = round(time.monotonic() - started, 1)
        path = coder_model_save(model=model, path=output)
        summary = {
            "artifact": str(path),
            "bytes": path.stat().st_size,
            "seconds": card["seconds"],
            **{
                name: {key: figures[name][key] for key in ("accuracy", "macro_f1", "kappa")}
                for name in ("baseline", "dense", "sparse", "blend")
                if name in figures
            },
        }
        self.stdout.write(json.dumps(summary, indent=2))
