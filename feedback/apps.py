from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "feedback"

    def ready(self) -> None:
        # Subscribe to simulations' events (turn stored, session ended, pack sections).
        from feedback import (  # noqa: F401
            framework_revisions,  # a framework's revision bumped when its exemplars change
            recording_sweeper,  # worker sweep for abandoned recording stages
            rollup_signals,  # analytics rollups dropped when assessments change
            subscriptions,
        )
        from feedback.dashboard import dashboard_panels_register_feedback

        dashboard_panels_register_feedback()

        from feedback.privacy import privacy_register_feedback

        privacy_register_feedback()

        # Registers the "assessment" engine status for /healthz (nothing is loaded here).
        from feedback.engines import assessment_status  # noqa: F401
