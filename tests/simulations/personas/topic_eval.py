"""Top-1 script-topic accuracy of the scripted engine's matcher on held-out
trainee lines (data/topic_probes.yaml), clean and through ASR-like noise.

Run as a script for the figures: ``python -m tests.simulations.personas.topic_eval``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.simulations.personas.asr_noise import asr_noise

PROBES = Path(__file__).resolve().parent / "data" / "topic_probes.yaml"


@dataclass
class Score:
    hits: int = 0
    total: int = 0
    misses: list = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.hits / self.total if self.total else 0.0


def probes_for(persona: dict, data: dict | None = None) -> list[tuple[str, str]]:
    """(topic, line) pairs for ``persona``: its kind's lines for topics it has, plus its own."""
    data = data or yaml.safe_load(PROBES.read_text(encoding="utf-8"))
    topics = {t["topic"] for t in persona.get("script") or []}
    pairs = []
    for source in (data["kinds"].get(persona["kind"]) or {}, data["personas"].get(persona["slug"]) or {}):
        for topic, lines in source.items():
            if topic in topics:
                pairs += [(topic, line) for line in lines]
    return pairs


def evaluate(personas: list[dict], *, noisy: bool, match) -> dict[str, Score]:
    """Scores per persona kind and "all"; ``match(persona, text) -> topic name``."""
    data = yaml.safe_load(PROBES.read_text(encoding="utf-8"))
    scores: dict[str, Score] = defaultdict(Score)
    for persona in personas:
        for topic, line in probes_for(persona, data):
            text = asr_noise(line, salt=persona["slug"]) if noisy else line
            got = match(persona, text)
            for key in (persona["kind"], "all"):
                scores[key].total += 1
                scores[key].hits += got == topic
            if got != topic:
                scores[persona["kind"]].misses.append((persona["slug"], topic, got, text))
    return dict(scores)


def default_match(persona: dict, text: str) -> str:
    from simulations.personas.topics import persona_topic_match

    return persona_topic_match(persona=persona, text=text).name


if __name__ == "__main__":  # pragma: no cover - figures for the report
    import os
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trainer_app.settings")
    django.setup()
    from tests.simulations.personas.persona_dicts import all_starter_personas

    personas = all_starter_personas()
    for noisy in (False, True):
        scores = evaluate(personas, noisy=noisy, match=default_match)
        label = "noisy" if noisy else "clean"
        print(label, {k: f"{v.accuracy:.3f} ({v.hits}/{v.total})" for k, v in sorted(scores.items())})
        if "-v" in sys.argv:
            for kind, score in scores.items():
                if kind != "all":
                    for miss in score.misses:
                        print("   MISS", miss)
