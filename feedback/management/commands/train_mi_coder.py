"""Train the offline MI behaviour coder from an AnnoMI-format CSV and write the shipped artifact."""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import sklearn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from feedback.engines.behaviour_coding.annomi import annomi_utterances_load, file_sha256
from feedback.engines.behaviour_coding.cv_cache import MemberCache, sources_sha256
from feedback.engines.behaviour_coding.finetune import (
    FinetuneConfig,
    finetune_train,
    finetuned_path_for,
    finetuned_save,
)
from feedback.engines.behaviour_coding.model import DEFAULT_ARTIFACT, coder_model_save
from feedback.engines.behaviour_coding.training import (
    FINETUNE_MEMBERS,
    FINETUNED_BLEND_WITH,
    FINETUNED_WEIGHT,
    coder_cross_validate,
    coder_inputs,
    coder_texts,
    coder_train,
    embedding_lookup_build,
)

# The modules that decide the artifact's contents (assessor and suggestions only read it).
TRAINING_MODULES = (
    "annomi.py", "features.py", "encoding.py", "model.py", "training.py", "metrics.py", "finetune.py",
)  # fmt: skip


def code_version() -> str:
    """sha256 over the source files that shape the artifact: works with or without git history."""
    return sources_sha256(names=TRAINING_MODULES)


class Command(BaseCommand):
    help = "Train the MI behaviour coder (AnnoMI CSV in, .npz + JSON card out), with transcript-grouped CV figures."

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, type=Path, help="AnnoMI-format CSV")
        parser.add_argument(
            "--output", type=Path, default=DEFAULT_ARTIFACT, help=f"artifact .npz (default {DEFAULT_ARTIFACT})"
        )
        parser.add_argument("--folds", type=int, default=5, help="grouped CV folds (by transcript); 0 skips CV")
        parser.add_argument(
            "--finetune-epochs",
            type=int,
            default=FinetuneConfig.epochs,
            help="epochs for the fine-tuned MiniLM (0: LR models only, no fine-tuned artifact)",
        )
        parser.add_argument(
            "--finetune-layers", type=int, default=FinetuneConfig.trainable_layers, help="top MiniLM layers trained"
        )
        parser.add_argument(
            "--finetune-max-steps", type=int, default=None, help=argparse.SUPPRESS
        )  # tests: a few steps only
        parser.add_argument(
            "--cv-cache",
            type=Path,
            default=None,
            help="directory for the members' out-of-fold probabilities (default VAR_DIR/cache/mi_coder_cv)",
        )
        parser.add_argument("--no-cv-cache", action="store_true", help="fine-tune every member on every fold")

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
        members: list[FinetuneConfig] = []
        if options["finetune_epochs"] > 0:
            members = [
                FinetuneConfig(
                    **(member | {"epochs": options["finetune_epochs"], "trainable_layers": options["finetune_layers"]})
                )
                for member in FINETUNE_MEMBERS
            ]
        data_sha256 = file_sha256(path=data)
        cache = None
        if not options["no_cv_cache"]:
            cache = MemberCache(
                directory=options["cv_cache"] or settings.VAR_DIR / "cache" / "mi_coder_cv", data_sha256=data_sha256
            )
        figures = {}
        if options["folds"]:
            self.stderr.write(f"grouped {options['folds']}-fold cross-validation…")
            figures = coder_cross_validate(
                examples=examples,
                vector_of=vector_of,
                folds=options["folds"],
                finetune_configs=members,
                finetune_max_steps=options["finetune_max_steps"],
                member_cache=cache,
            )
        # Ship the fine-tuned model only when, on the same folds, its blend (with the FINETUNED_BLEND_WITH part)
        # beats the LR blend on macro-F1 and kappa.
        finetuned_wins = bool(members) and (
            not figures
            or (
                figures["finetuned_blend"]["macro_f1"] > figures["blend"]["macro_f1"]
                and figures["finetuned_blend"]["kappa"] > figures["blend"]["kappa"]
            )
        )
        card = {
            "model": "offline MI behaviour coder: fine-tuned MiniLM pair classifier + n-gram LR when the fine-tuned "
            "file is shipped, else embedding LR + n-gram LR blend; subtype LRs",
            "format": "numpy .npz (allow_pickle=False) + this JSON",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": f"python manage.py train_mi_coder --data {data} --output {output} --folds {options['folds']}"
            f" --finetune-epochs {options['finetune_epochs']} --finetune-layers {options['finetune_layers']}"
            + (f" --finetune-max-steps {options['finetune_max_steps']}" if options["finetune_max_steps"] else ""),
            "code_version_sha256": code_version(),
            "data": {
                "file": data.name,
                "sha256": data_sha256,
                "transcripts": len({example.group for example in examples}),
                "therapist_utterances": len(examples),
                "deduplication": "one label set per utterance: majority main behaviour, subtypes of the first annotator who chose it",
            },
            "embeddings": "all-MiniLM-L6-v2 (trainer_app.engines.embeddings), L2-normalised, 384-d",
            "environment": {"python": platform.python_version(), "scikit_learn": sklearn.__version__},
            "cross_validation": figures,
        }
        if members:
            card["finetuned"] = {
                "shipped": finetuned_wins,
                "file": finetuned_path_for(artifact=output).name if finetuned_wins else None,
                "model": "an ensemble (mean probabilities) of copies of the bundled all-MiniLM-L6-v2, each with its "
                "transformer layers fine-tuned as a (context, utterance) pair classifier with behaviour + subtype "
                "heads; mean pooling over the utterance; safetensors (layer matrices as int8 differences from the "
                "bundled model, the rest fp16)",
                "members": [{key: getattr(config, key) for key in config.__dataclass_fields__} for config in members],
                "blend_weight": FINETUNED_WEIGHT,
                "blend_with": FINETUNED_BLEND_WITH,
                "torch": _torch_version(),
            }
        model = coder_train(examples=examples, vector_of=vector_of, card=card)
        finetuned_file = finetuned_path_for(artifact=output)
        if finetuned_wins:
            everything = {
                "inputs": coder_inputs(examples=examples),
                "behaviours": [example.labels["behaviour"] for example in examples],
                "subtypes": {
                    f: [example.labels.get(f) for example in examples] for f in ("reflection", "question", "input")
                },
                "max_steps": options["finetune_max_steps"],
            }
            tuned = []
            for index, config in enumerate(members):
                self.stderr.write(f"fine-tuning member {index + 1} of {len(members)} on every utterance…")
                tuned.append(finetune_train(**everything, config=config))
            finetuned_save(
                members=tuned, path=finetuned_file, blend_weight=FINETUNED_WEIGHT, blend_with=FINETUNED_BLEND_WITH
            )
        else:
            for stale in (finetuned_file, finetuned_file.with_suffix(".json")):
                stale.unlink(missing_ok=True)  # an old fine-tuned file must not outlive the model it was blended with
        card["seconds"] = round(time.monotonic() - started, 1)
        path = coder_model_save(model=model, path=output)
        summary = {
            "artifact": str(path),
            "bytes": path.stat().st_size,
            "finetuned_file": str(finetuned_file) if finetuned_wins else None,
            "seconds": card["seconds"],
            **{
                name: {key: figures[name][key] for key in ("accuracy", "macro_f1", "kappa")}
                for name in (
                    "baseline",
                    "dense",
                    "sparse",
                    "blend",
                    "finetuned",
                    "finetuned_blend",
                    "finetuned_lr_blend",
                )  # fmt: skip
                if name in figures
            },
            **{
                name: {key: figures[name][key] for key in ("accuracy", "macro_f1", "kappa")}
                for name in figures
                if name.startswith("finetuned_member_")
            },
        }
        self.stdout.write(json.dumps(summary, indent=2))


def _torch_version() -> str:
    import torch

    return torch.__version__
