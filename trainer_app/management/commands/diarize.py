"""`manage.py diarize FILE [--num-speakers N] [--min-speakers N] [--max-speakers N] [--rttm OUT] [--json]`.

Prints one line per speaker turn (start, end, speaker), or JSON with --json; --rttm also writes the
turns as RTTM (the file's name without extension is the RTTM uri). Bad input (missing, not audio,
empty, too long, unreadable, impossible speaker counts) ends with a one-line error and exit status 1.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

DEFAULT_MAX_SECONDS = 4 * 3600
DEFAULT_MAX_BYTES = 2 * 1024 * 1024 * 1024


def positive_int(value: str) -> int:
    import argparse

    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def load_audio_for_command(*, path: Path, max_seconds: float):
    """Decoded 16 kHz samples, or CommandError with a one-line reason."""
    from trainer_app.engines.speech.audio import audio_decode
    from trainer_app.engines.speech.errors import SpeechError

    if not path.exists():
        raise CommandError(f"{path}: file not found")
    if not path.is_file():
        raise CommandError(f"{path}: not a file")
    try:
        decoded = audio_decode(source=path, filename=path.name, max_bytes=DEFAULT_MAX_BYTES, max_seconds=max_seconds)
    except SpeechError as exc:
        raise CommandError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise CommandError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(decoded.samples) == 0:
        raise CommandError(f"{path}: the recording holds no audio")
    return decoded


class Command(BaseCommand):
    help = "Who spoke when in an audio file (diarization engine: pyannote pipeline or the embedded backend)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="audio file (wav, flac, mp3, m4a, ogg, webm)")
        parser.add_argument("--num-speakers", type=positive_int, default=None, help="exact number of speakers")
        parser.add_argument("--min-speakers", type=positive_int, default=None, help="at least this many speakers")
        parser.add_argument("--max-speakers", type=positive_int, default=None, help="at most this many speakers")
        parser.add_argument("--rttm", default=None, help="also write the turns to this RTTM file")
        parser.add_argument("--json", action="store_true", help="print JSON (turns, backend, notes)")
        parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS,
                            help=f"refuse longer audio (default {DEFAULT_MAX_SECONDS} s)")  # fmt: skip

    def handle(self, *args, file: str, num_speakers, min_speakers, max_speakers, rttm, json: bool, max_seconds, **options):
        import json as jsonlib

        from trainer_app.engines.speech.diarization import diarize
        from trainer_app.engines.speech.diarization_eval import rttm_lines

        path = Path(file)
        rttm_path = Path(rttm) if rttm else None
        if rttm_path is not None and not rttm_path.parent.is_dir():
            raise CommandError(f"--rttm: directory {rttm_path.parent} does not exist")
        decoded = load_audio_for_command(path=path, max_seconds=max_seconds)
        try:
            result = diarize(
                samples=decoded.samples, sample_rate=decoded.sample_rate, num_speakers=num_speakers,
                min_speakers=min_speakers, max_speakers=max_speakers,
            )  # fmt: skip
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        uri = path.stem
        if rttm_path is not None:
            try:
                rttm_path.write_text("".join(line + "\n" for line in rttm_lines(turns=result.turns, uri=uri)))
            except OSError as exc:
                raise CommandError(f"--rttm: cannot write {rttm_path}: {exc.strerror or exc}") from exc
        if json:
            self.stdout.write(jsonlib.dumps({
                "file": str(path), "duration_s": round(decoded.duration_s, 3), "backend": result.backend,
                "speakers": result.speakers, "notes": result.notes,
                "turns": [{"start": t.start, "end": t.end, "speaker": t.speaker} for t in result.turns],
            }, ensure_ascii=False))  # fmt: skip
        else:
            for turn in result.turns:
                self.stdout.write(f"{turn.start:9.3f} {turn.end:9.3f}  {turn.speaker}")
            self.stderr.write(f"diarization: {result.backend}; {len(result.speakers)} speaker(s); "
                              + "; ".join(result.notes))  # fmt: skip
