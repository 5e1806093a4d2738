"""`manage.py transcribe FILE [FILE...] [--output OUT.jsonl]`: run the speech pipeline on files.

One JSON line per file: file, text, segments, backend, low_accuracy, duration (plus speech_s and
the segments hallucination removal dropped). Files that fail get an "error" line instead, so a
batch evaluation never stops half way.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Transcribe audio files with the speech engines; writes JSONL (one line per file)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="audio files (webm, ogg, wav, mp3, m4a)")
        parser.add_argument("--output", "-o", help="write JSONL here instead of stdout")
        parser.add_argument("--language", default=None, help="language code for Whisper (default ASR_LANGUAGE)")

    def handle(self, *args, files: list[str], output: str | None, language: str | None, **options):
        from trainer_app.engines.speech.asr import asr_status
        from trainer_app.engines.speech.errors import SpeechError
        from trainer_app.engines.speech.pipeline import speech_transcribe

        out = Path(output).open("w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115 (closed below)
        failures = 0
        try:
            for name in files:
                path = Path(name)
                record: dict = {"file": str(path)}
                if not path.is_file():
                    record["error"] = "file not found"
                    failures += 1
                else:
                    try:
                        transcript = speech_transcribe(audio_bytes=path, filename=path.name, language=language)
                        data = transcript.as_dict()
                        record.update(
                            text=data["text"],
                            segments=data["segments"],
                            backend=data["backend"],
                            low_accuracy=data["low_accuracy"],
                            duration=data["duration_s"],
                            speech_s=data["speech_s"],
                            dropped=data["dropped"],
                        )
                    except SpeechError as exc:  # expected per-file problems: report and go on
                        record.update(error=str(exc), error_type=type(exc).__name__)
                        failures += 1
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                out.flush()
        finally:
            if output:
                out.close()
        status = asr_status()
        self.stderr.write(f"asr: {status.backend} (production={status.production}): {status.detail}")
        if failures == len(files):
            raise CommandError(f"none of the {len(files)} file(s) could be transcribed")
