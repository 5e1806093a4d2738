from django.apps import AppConfig


class SimulationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "simulations"

    def ready(self) -> None:
        from simulations.dashboard import dashboard_panels_register_simulations
        from simulations.packs.sections import pack_sections_register_simulations

        pack_sections_register_simulations()
        dashboard_panels_register_simulations()

        from simulations.dashboard_sessions import dashboard_panels_register_sessions

        dashboard_panels_register_sessions()

        from simulations.privacy import privacy_register_simulations

        privacy_register_simulations()
        # Open session pages re-check access when a cohort changes.
        from simulations.services.session_access import session_access_signals_connect

        session_access_signals_connect()

        # Registers the "persona" engine status for /healthz (no model is loaded here).
        from simulations.personas import selection  # noqa: F401
