"""simulations' dashboard panels (registered from SimulationsConfig.ready)."""

from __future__ import annotations

from trainer_app.dashboard import DashboardPanel, dashboard_panel_register


def _trainee_scenarios(request) -> dict:
    from simulations.selectors.practice import scenarios_for_trainee

    return {"scenarios": scenarios_for_trainee(user=request.user)}


def _authoring(request) -> dict:
    from simulations.selectors.authoring import persona_list, scenario_list

    return {"scenario_count": scenario_list().count(), "persona_count": persona_list().count()}


def dashboard_panels_register_simulations() -> None:
    dashboard_panel_register(
        role="trainee",
        panel=DashboardPanel(
            key="scenarios",
            title="Scenarios to practise",
            template="simulations/panels/trainee_scenarios.html",
            context=_trainee_scenarios,
            order=10,
        ),
    )
    dashboard_panel_register(
        role="admin",
        panel=DashboardPanel(
            key="authoring", title="Authoring", template="simulations/panels/authoring.html", context=_authoring, order=20
        ),
    )
