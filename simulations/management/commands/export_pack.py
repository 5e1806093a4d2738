"""python manage.py export_pack --output FILE [SLUG ...]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from simulations.services.packs import pack_export, pack_slugs_unknown


class Command(BaseCommand):
    help = "Export scenarios, personas or frameworks by slug (with what they depend on); everything when no slug is given."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slugs", nargs="*", metavar="SLUG")
        parser.add_argument("--output", "-o", type=Path, required=True, help="File to write ('-' for standard output).")

    def handle(self, *args, slugs: list[str], output: Path, **options) -> None:
        unknown = pack_slugs_unknown(slugs=slugs)
        if unknown:
            raise CommandError(f"nothing installed is called: {', '.join(unknown)}")
        text = pack_export(slugs=slugs)
        if str(output) == "-":
            self.stdout.write(text, ending="")
            return
        output.write_text(text, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"wrote {output}"))
