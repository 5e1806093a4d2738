"""`manage.py evaluate_diarization --reference REF.rttm --audio DIR [--json]`.

Diarizes DIR/<uri>.<ext> for every uri in the reference RTTM and scores it with pyannote.metrics'
diarization error rate: (missed speech + false alarm + speaker confusion) / reference speech, no
collar, overlapped speech scored. Prints each file's DER with its components, then the overall
figure (total errors over total reference speech). Bad input ends with a one-line error, exit 1.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trainer_app.management.commands.diarize import DEFAULT_MAX_SECONDS, load_audio_for_command, positive_int

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus", ".webm")


def audio_for_uri(*, directory: Path, uri: str) -> Path | None:
    for suffix in AUDIO_SUFFIXES:
        candidate = directory / f"{uri}{suffix}"
        if candidate.is_file():
            return candidate
    return None


class Command(BaseCommand):
    help = "Diarization error rate (pyannote.metrics, no collar, overlap scored) against an RTTM reference."

    def add_arguments(self, parser):
        parser.add_argument("--reference", required=True, help="reference RTTM file")
        parser.add_argument("--audio", required=True, help="directory holding <uri>.wav (or flac, mp3, ...)")
        parser.add_argument("--num-speakers", type=positive_int, default=None, help="give the engine the count")
        parser.add_argument("--oracle-speakers", action="store_true",
                            help="give the engine each file's reference speaker count")  # fmt: skip
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args, reference: str, audio: str, num_speakers, oracle_speakers: bool, json: bool, **options):
        import json as jsonlib

        from trainer_app.engines.speech.diarization import diarize
        from trainer_app.engines.speech.diarization_eval import (
            RttmError,
            der_components,
            der_metric,
            der_overall,
            rttm_read,
            turns_annotation,
        )

        reference_path, audio_dir = Path(reference), Path(audio)
        if not reference_path.is_file():
            raise CommandError(f"--reference: {reference_path} is not a file")
        if not audio_dir.is_dir():
            raise CommandError(f"--audio: {audio_dir} is not a directory")
        try:
            references = rttm_read(path=reference_path)
        except RttmError as exc:
            raise CommandError(str(exc)) from exc
        missing = [uri for uri in references if audio_for_uri(directory=audio_dir, uri=uri) is None]
        if missing:
            raise CommandError(f"--audio: no audio file in {audio_dir} for {', '.join(sorted(missing))}")
        metric = der_metric()
        rows, backends = [], set()
        for uri in sorted(references):
            decoded = load_audio_for_command(path=audio_for_uri(directory=audio_dir, uri=uri), max_seconds=DEFAULT_MAX_SECONDS)
            count = len(references[uri].labels()) if oracle_speakers else num_speakers
            result = diarize(samples=decoded.samples, sample_rate=decoded.sample_rate, num_speakers=count)
            backends.add(result.backend)
            hypothesis = turns_annotation(turns=result.turns, uri=uri)
            rows.append(der_components(metric=metric, reference=references[uri], hypothesis=hypothesis, uri=uri))
        overall = der_overall(metric=metric)
        mean = sum(r.der for r in rows) / len(rows)
        if json:
            self.stdout.write(jsonlib.dumps({"backend": sorted(backends), "files": [r.as_dict() for r in rows],
                                             "overall": overall.as_dict(), "mean_file_der": round(mean, 4)}))  # fmt: skip
            return
        self.stdout.write(f"{'file':<16}{'DER':>8}{'missed s':>10}{'false al. s':>12}{'confusion s':>12}{'speech s':>10}")
        for row in [*rows, overall]:
            self.stdout.write(f"{row.uri:<16}{row.der:>8.3f}{row.missed:>10.2f}{row.false_alarm:>12.2f}"
                              f"{row.confusion:>12.2f}{row.reference_s:>10.2f}")  # fmt: skip
        self.stdout.write(f"mean of per-file DER: {mean:.3f}  (backend: {', '.join(sorted(backends))})")
