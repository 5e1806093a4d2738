"""Upload and analyse recordings from the command line: the same checks and stages as the page.

    manage.py analyze_recording FILE [FILE ...] --user NAME --consent "..." [--cohort NAME]
        [--framework SLUG] [--trainer NAME] [--trainee NAME] [--num-speakers N] [--queue] [--json]

By default the stages run here, printing progress (diarization and ASR side by side in two
threads, as a speech worker runs them; --threads 1 runs one stage at a time); --queue hands them
to the workers instead. A file that cannot be used gets a one-line reason and a non-zero exit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from feedback.models import Recording, RecordingStage
from feedback.services.recording_pipeline import recording_pipeline_run_here
from feedback.services.recordings import RecordingRejected, recording_create, temp_upload_path
from trainer_app.models import Cohort
from trainer_app.roles import user_is_instructor


class Command(BaseCommand):
    help = "Upload audio/video files as recordings and run the analysis pipeline on them."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+")
        parser.add_argument("--user", required=True, help="Instructor or admin who uploads (and confirms consent).")
        parser.add_argument("--consent", required=True, help="The consent statement being confirmed.")
        parser.add_argument("--cohort", default="", help="Cohort name (required for instructors).")
        parser.add_argument("--title", default="")
        parser.add_argument("--framework", default="", help="Framework slug (teaching-feedback, mi, dear-man, ...).")
        parser.add_argument("--rubric-role", default="trainee")
        parser.add_argument("--trainer", default="", help="Username of the trainer (enrolled voice).")
        parser.add_argument("--trainee", default="", help="Username of the trainee (enrolled voice).")
        parser.add_argument("--num-speakers", type=int, default=None)
        parser.add_argument("--queue", action="store_true", help="Enqueue on the workers instead of running here.")
        parser.add_argument("--json", action="store_true", help="Print each recording's stages as JSON.")
        parser.add_argument("--threads", type=int, default=2, help="Stages run side by side here (default 2, as a speech worker).")

    def _user(self, username: str, *, what: str):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r} ({what}).")
        return user

    def handle(self, *args, **opts):
        uploader = self._user(opts["user"], what="--user")
        if not user_is_instructor(user=uploader):
            raise CommandError(f"{uploader.username} is not an instructor or admin.")
        cohort = None
        if opts["cohort"]:
            cohort = Cohort.objects.filter(name=opts["cohort"]).first()
            if cohort is None:
                raise CommandError(f"No cohort named {opts['cohort']!r}.")
        participants = [(self._user(opts[r], what=f"--{r}"), r) for r in ("trainer", "trainee") if opts[r]]
        failures = 0
        for name in opts["files"]:
            path = Path(name)
            if not path.is_file():
                self.stderr.write(f"{name}: no such file")
                failures += 1
                continue
            temp = temp_upload_path()
            shutil.copyfile(path, temp)
            try:
                recording = recording_create(
                    source=temp, original_name=path.name, uploaded_by=uploader, title=opts["title"] or path.stem, cohort=cohort,
                    consent_statement=opts["consent"], framework_slug=opts["framework"], rubric_role=opts["rubric_role"],
                    participants=participants, num_speakers=opts["num_speakers"], enqueue=opts["queue"],
                )
            except RecordingRejected as exc:
                self.stderr.write(f"{name}: {exc}")
                failures += 1
                continue
            finally:
                temp.unlink(missing_ok=True)
            self.stdout.write(f"{name}: recording {recording.pk} ({recording.duration_s:.1f} s)")
            if not opts["queue"]:
                failures += self._run(recording_id=recording.pk, threads=opts["threads"])
            if opts["json"]:
                stages = list(RecordingStage.objects.filter(recording_id=recording.pk).values("name", "status", "seconds", "error"))
                self.stdout.write(json.dumps({"recording": recording.pk, "stages": stages}))
        if failures:
            raise CommandError(f"{failures} file(s) could not be analysed.")

    def _run(self, *, recording_id: int, threads: int) -> int:
        seconds: dict[str, float] = {}

        def report(stage: str, outcome: str, took: float) -> None:
            seconds[stage] = seconds.get(stage, 0.0) + took
            if outcome == "done":
                self.stdout.write(f"  {stage}: done in {seconds[stage]:.1f} s")

        status = recording_pipeline_run_here(recording_id=recording_id, threads=threads, on_stage=report)
        if status != Recording.Status.DONE:
            open_rows = list(RecordingStage.objects.filter(recording_id=recording_id).exclude(status=RecordingStage.Status.DONE))
            failed = [row for row in open_rows if row.status == RecordingStage.Status.FAILED] or open_rows[:1]
            for row in failed:
                self.stderr.write(f"  {row.name}: {row.error or row.status}")
            return 1
        recording = Recording.objects.get(pk=recording_id)
        self.stdout.write(f"  {recording.segments.filter(removed=False).count()} turns, "
                          f"{recording.segments.filter(removed=True).count()} removed, "
                          f"{recording.speakers.filter(merged_into__isnull=True).count()} speakers")
        return 0
