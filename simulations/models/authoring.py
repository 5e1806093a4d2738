"""Personas and scenarios as authored. Their content is stored in pack format
(see docs/scenario-packs.md) so engines, packs and the UI share one shape."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Persona(models.Model):
    KINDS = [("cbt-patient", "CBT patient"), ("interpersonal-partner", "Interpersonal partner"), ("mi-client", "MI client")]

    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=40, choices=KINDS)
    name = models.CharField(max_length=120)
    data = models.JSONField(help_text="The persona in pack format (docs/scenario-packs.md).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class Scenario(models.Model):
    """A scenario's identity; its content lives in immutable versions."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    persona = models.ForeignKey(Persona, on_delete=models.PROTECT, related_name="scenarios")
    current_version = models.ForeignKey(
        "ScenarioVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cohorts = models.ManyToManyField("trainer_app.Cohort", related_name="scenarios", blank=True)
    is_archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class ScenarioVersion(models.Model):
    """An immutable snapshot: the scenario, its persona and framework slugs as
    played. A session points at the version it was played with, so editing a
    scenario never rewrites history."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    scenario_data = models.JSONField(help_text="The scenario in pack format.")
    persona_data = models.JSONField(help_text="The persona in pack format, frozen with this version.")
    framework_slugs = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scenario", "-number"]
        constraints = [models.UniqueConstraint(fields=["scenario", "number"], name="unique_scenario_version_number")]

    def __str__(self) -> str:
        return f"{self.scenario.slug} v{self.number}"
