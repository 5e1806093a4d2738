import secrets

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from trainer_app.services import demo_users_ensure


class Command(BaseCommand):
    help = "Demo content for the embedded runtime: three users (one per role), a cohort, the starter scenarios."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run with production settings.")
        password = settings.DEMO_PASSWORD
        generated = not password
        if generated:
            password_file = settings.VAR_DIR / "demo-password"
            if not password_file.exists():
                password_file.write_text(secrets.token_urlsafe(12))
            password = password_file.read_text().strip()
        demo = demo_users_ensure(password=password)
        if "load_starter_packs" in get_commands():
            call_command("load_starter_packs", verbosity=0)
            from simulations.models import Scenario

            demo["cohort"].scenarios.add(*Scenario.objects.filter(is_archived=False))
        where = f" (generated; kept in {settings.VAR_DIR / 'demo-password'})" if generated else " (from DEMO_PASSWORD)"
        self.stdout.write(f"Demo users: trainee, instructor, admin — password: {password}{where}")
