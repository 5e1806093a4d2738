"""python manage.py load_starter_packs: import simulations/starter_packs/*.yaml
(frameworks.yaml first) with update semantics. Unchanged content is skipped,
so running it again creates nothing new (no new scenario versions)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from simulations.services.packs import starter_packs_load


class Command(BaseCommand):
    help = "Import or update the starter packs; idempotent."

    def handle(self, *args, **options) -> None:
        results = starter_packs_load()
        failed = False
        for name, result in results.items():
            if result.ok:
                self.stdout.write(f"{name}: {result.summary()}")
            else:
                failed = True
                for error in result.errors:
                    self.stderr.write(f"{name}: {error}")
        if failed:
            raise CommandError("some starter packs were not imported (see errors above)")
