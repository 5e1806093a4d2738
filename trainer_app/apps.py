from django.apps import AppConfig


class TrainerAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "trainer_app"
    verbose_name = "Platform core"

    def ready(self) -> None:
        from trainer_app import heartbeat, signals  # noqa: F401  (worker heartbeat, role groups)

        # Engines register their status reporters on import (no model is loaded here).
        from trainer_app.engines import embeddings, speech  # noqa: F401
