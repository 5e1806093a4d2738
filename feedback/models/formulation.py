"""The trainee's CBT formulation worksheet for one session, and its score."""

from __future__ import annotations

from django.db import models


class FormulationWorksheet(models.Model):
    session = models.OneToOneField("simulations.PracticeSession", on_delete=models.CASCADE, related_name="formulation")
    fields = models.JSONField(default=dict, help_text="The trainee's answers, keyed by worksheet field.")
    score = models.JSONField(default=dict, blank=True, help_text="Per-field score with explanations.")
    scored_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"formulation of session {self.session_id}"
