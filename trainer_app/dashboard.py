"""Dashboard panels per role, contributed by the apps that own their content.

trainer_app cannot import simulations or feedback (dependencies run one way),
so they register panels here from their AppConfig.ready()."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DashboardPanel:
    key: str
    title: str
    template: str
    context: Callable  # (request) -> dict
    order: int = 100


_panels: dict[str, dict[str, DashboardPanel]] = {}


def dashboard_panel_register(*, role: str, panel: DashboardPanel) -> None:
    _panels.setdefault(role, {})[panel.key] = panel


def dashboard_panels_for(*, role: str) -> list[DashboardPanel]:
    return sorted(_panels.get(role, {}).values(), key=lambda p: (p.order, p.key))
