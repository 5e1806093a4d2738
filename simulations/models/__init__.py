"""Practice sessions, personas and scenarios. Models are split by concern."""

from simulations.models.authoring import Persona, Scenario, ScenarioVersion
from simulations.models.sessions import PracticeSession, Turn, VoiceClip

__all__ = ["Persona", "Scenario", "ScenarioVersion", "PracticeSession", "Turn", "VoiceClip"]
