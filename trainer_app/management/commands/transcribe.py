"""`manage.py transcribe FILE [FILE...] [--model M] [--json] [--output OUT]`: speech to text with word times.

Runs the app's own pipeline (decode → VAD → ASR → hallucination removal). Without --model it uses
the recognizer for --purpose (recording by default: Whisper base, bundled; live: tiny.en), with the
usual fallbacks; --model names exactly one model (tiny.en, base, a CTranslate2 directory, a
faster-whisper name, or pocketsphinx) and fails if it cannot be loaded.

Text output: per file, each segment with its times, then its words with theirs. --json: one JSON
object per file (file, text, language, segments with words, backend, low_accuracy, duration,
speech_s, dropped). A file that cannot be transcribed (not audio, empty, too long, unreadable, no
speech) gets a one-line error; the others are still transcribed; the exit status is non-zero.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

DEFAULT_MAX_SECONDS = 2 * 3600
DEFAULT_MAX_BYTES = 1024 * 1024 * 1024


class _FileProblem(Exception):
    pass


class Command(BaseCommand):
    help = "Transcribe audio files (segments and words with times); text, or JSON with --json."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="audio files (wav, webm, ogg, mp3, m4a, flac)")
        parser.add_argument("--model", "-m", default="", help="tiny.en, base, a model directory or name, or pocketsphinx")
        parser.add_argument("--purpose", choices=["recording", "live"], default="recording",
                            help="which configured recognizer to use without --model (default: recording)")
        parser.add_argument("--json", dest="as_json", action="store_true", help="one JSON object per file (JSON lines)")
        parser.add_argument("--output", "-o", help="write here instead of stdout")
        parser.add_argument("--language", default=None, help="language code; 'auto' detects (default ASR_LANGUAGE)")
        parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, help="longest audio accepted")
        parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="largest file accepted")

    def handle(self, *args, files: list[str], model: str, purpose: str, as_json: bool, output: str | None,
               language: str | None, max_seconds: float, max_bytes: int, **options):
        from trainer_app.engines.speech.asr import AsrModelUnavailable, asr_backend_for_model, asr_status

        backend = None
        if model:
            try:
                backend = asr_backend_for_model(model=model, purpose=purpose)
            except AsrModelUnavailable as exc:
                raise CommandError(f"model {model}: {exc}") from exc
        out = Path(output).open("w", encoding="utf-8") if output else self.stdout  # noqa: SIM115 (closed below)
        failures: list[str] = []
        try:
            for name in files:
                try:
                    transcript = self._transcribe(
                        path=Path(name), backend=backend, purpose=purpose,
                        language=language, max_seconds=max_seconds, max_bytes=max_bytes,
                    )
                except _FileProblem as exc:
                    message = " ".join(f"{name}: {exc}".split())  # one line, whatever the cause said
                    failures.append(message)
                    if len(files) > 1:
                        self.stderr.write(message)
                    if as_json:
                        out.write(_json_line({"file": name, "error": str(exc), "error_type": exc.__cause__.__class__.__name__
                                              if exc.__cause__ else "FileProblem"}))
                    continue
                out.write(_json_line({"file": name, **_record(transcript)}) if as_json else _text(name, transcript))
        finally:
            if output:
                out.close()
        if len(failures) < len(files):
            status = asr_status(purpose=purpose) if backend is None else None
            described = f"{status.backend}: {status.detail}" if status else backend.name
            self.stderr.write(f"asr: {described}")
        if failures:
            if len(files) == 1:
                raise CommandError(failures[0])
            raise CommandError(f"{len(failures)} of {len(files)} file(s) could not be transcribed")

    def _transcribe(self, *, path: Path, backend, purpose: str, language, max_seconds: float, max_bytes: int):
        from trainer_app.engines.speech.audio import audio_decode
        from trainer_app.engines.speech.errors import SpeechError
        from trainer_app.engines.speech.pipeline import speech_transcribe_decoded

        if path.is_symlink() and not path.exists():
            raise _FileProblem("cannot be read (a link to nothing)")
        if not path.exists():
            raise _FileProblem("file not found")
        if path.is_dir():
            raise _FileProblem("is a directory, not an audio file")
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise _FileProblem(f"cannot be read ({exc.strerror or exc})") from exc
        try:
            audio = audio_decode(source=path, filename=path.name, max_seconds=max_seconds, max_bytes=max_bytes)
            # the recognizer loads only once a file has decoded (bad input fails fast)
            return speech_transcribe_decoded(audio=audio, language=language, purpose=purpose, backend=backend)
        except SpeechError as exc:  # not audio, empty, too long, damaged, no speech: the reason, in one line
            raise _FileProblem(str(exc)) from exc


def _record(transcript) -> dict:
    data = transcript.as_dict()
    return {
        "text": data["text"],
        "language": data["language"],
        "segments": data["segments"],
        "backend": data["backend"],
        "low_accuracy": data["low_accuracy"],
        "duration": data["duration_s"],
        "speech_s": data["speech_s"],
        "dropped": data["dropped"],
    }


def _json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def _text(name: str, transcript) -> str:
    lines = [f"{name}  ({transcript.backend}{', low accuracy' if transcript.low_accuracy else ''}; "
             f"{transcript.duration_s:.1f} s, {transcript.speech_s:.1f} s speech"
             f"{'; language ' + transcript.language if transcript.language else ''})"]
    words = transcript.words or [()] * len(transcript.segments)
    for (start, end, text), segment_words in zip(transcript.segments, words, strict=True):
        lines.append(f"[{start:8.2f} → {end:8.2f}]  {text}")
        if segment_words:
            lines.append("    " + "  ".join(f"{w.text}@{w.start:.2f}-{w.end:.2f}" for w in segment_words))
    return "\n".join(lines) + "\n"

