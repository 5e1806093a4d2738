"""The trainee's "past sessions" dashboard panel (registered from SimulationsConfig.ready)."""

from __future__ import annotations

from trainer_app.dashboard import DashboardPanel, dashboard_panel_register


def _past_sessions(request) -> dict:
    from simulations.selectors.sessions import practice_sessions_for_trainee

    return {"sessions": list(practice_sessions_for_trainee(user=request.user))}


def dashboard_panels_register_sessions() -> None:
    dashboard_panel_register(
        role="trainee",
        panel=DashboardPanel(
            key="past-sessions",
            title="Your sessions",
            template="simulations/panels/past_sessions.html",
            context=_past_sessions,
            order=20,
        ),
    )
