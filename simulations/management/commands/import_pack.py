"""python manage.py import_pack FILE [--update]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from simulations.services.packs import pack_import


class Command(BaseCommand):
    help = "Import a scenario pack (all or nothing). Existing slugs are refused unless --update is given."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--update", action="store_true", help="Replace existing items (scenarios get a new version).")

    def handle(self, *args, file: Path, update: bool, **options) -> None:
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
        result = pack_import(content=content, update=update)
        if not result.ok:
            for error in result.errors:
                self.stderr.write(error)
            raise CommandError(f"{file}: {len(result.errors)} error(s); nothing was imported")
        self.stdout.write(self.style.SUCCESS(f"{file}: {result.summary()}"))
