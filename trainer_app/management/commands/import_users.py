from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trainer_app.services import USER_CSV_COLUMNS, users_import_csv


class Command(BaseCommand):
    help = f"Create users and cohorts from a CSV file with columns {','.join(USER_CSV_COLUMNS)} (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file: str, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file}: not UTF-8 text ({exc})") from exc
        result = users_import_csv(text=text)
        if result.errors:
            for error in result.errors:
                self.stderr.write(error)
            raise CommandError(f"{len(result.errors)} bad row(s); nothing was created")
        self.stdout.write(f"created {result.created_users} user(s) and {result.created_cohorts} cohort(s)")
