"""Export the embedding model to ONNX before the processes that serve start.

`manage.py serve` runs it before the web and the workers (so none of them exports, and the
web process never loads PyTorch); run it yourself after changing EMBEDDINGS_MODEL in a
deployment (the Procfile's web line does). It does nothing when the export is already there.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from trainer_app.engines.embedding_export import ExportRefused, export
from trainer_app.engines.embedding_files import declared_unexportable_reason
from trainer_app.engines.embeddings import embedding_candidates, embeddings_cache_dir, embeddings_runtime


class Command(BaseCommand):
    help = "Export the sentence-embedding model (EMBEDDINGS_MODEL, or the bundled one) to ONNX for ONNX Runtime."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="export again even if an export (or a failure) exists")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the manifest as JSON")

    def handle(self, *args, force: bool, as_json: bool, **options):
        if embeddings_runtime() != "onnx":
            self.stdout.write(f"EMBEDDINGS_RUNTIME={embeddings_runtime()}: nothing to export")
            return
        try:
            candidates, skipped = embedding_candidates()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        for candidate in candidates:
            declared = declared_unexportable_reason(candidate.path)
            if declared:
                self.stdout.write(f"{candidate.label}: not exportable ({declared}); processes run it on PyTorch")
                return
            try:
                manifest = export(model_dir=candidate.path, cache_dir=embeddings_cache_dir(), force=force)
            except ExportRefused as exc:
                if exc.stage == "load":
                    skipped += f"{candidate.label} failed to load: {exc}; "
                    self.stderr.write(f"{candidate.label} failed to load ({exc}); trying the next model")
                    continue
                self.stdout.write(f"{candidate.label}: not exported ({exc}); processes run it on PyTorch")
                return
            if as_json:
                self.stdout.write(json.dumps(manifest, indent=1))
            else:
                difference = manifest.get("max_difference_from_pytorch")
                self.stdout.write(f"{candidate.label}: ONNX export {manifest['key']} ready in {embeddings_cache_dir()}"
                                  + (f" (max difference from PyTorch {difference:.1e})" if difference is not None else ""))
            return
        raise CommandError(f"no embedding model could be exported: {skipped}")
