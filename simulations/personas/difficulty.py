"""Scenario difficulty: the preset named by ``difficulty.level`` with the
scenario's optional overrides applied (docs/scenario-packs.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Difficulty:
    level: str
    trust_gain: float
    disclosure_thresholds: tuple[float, float, float, float]  # trust for situation .. core_beliefs
    hostility: float
    concession_rate: float


DIFFICULTY_PRESETS: dict[str, Difficulty] = {
    "easy": Difficulty("easy", 1.4, (0.15, 0.3, 0.45, 0.6), 0.1, 0.7),
    "medium": Difficulty("medium", 1.0, (0.2, 0.4, 0.6, 0.8), 0.3, 0.5),
    "hard": Difficulty("hard", 0.7, (0.3, 0.5, 0.7, 0.9), 0.6, 0.25),
}


def difficulty_resolve(*, scenario: dict) -> Difficulty:
    """Preset (medium when unset or unknown) overridden field by field."""
    spec = (scenario or {}).get("difficulty") or {}
    preset = DIFFICULTY_PRESETS.get(spec.get("level") or "medium", DIFFICULTY_PRESETS["medium"])
    thresholds = spec.get("disclosure_thresholds")
    return Difficulty(
        level=preset.level,
        trust_gain=float(spec["trust_gain"]) if spec.get("trust_gain") is not None else preset.trust_gain,
        disclosure_thresholds=tuple(float(t) for t in thresholds) if thresholds else preset.disclosure_thresholds,
        hostility=float(spec["hostility"]) if spec.get("hostility") is not None else preset.hostility,
        concession_rate=float(spec["concession_rate"])
        if spec.get("concession_rate") is not None
        else preset.concession_rate,
    )
