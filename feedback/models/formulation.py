"""The trainee's CBT formulation worksheets for one session, and their scores.

A session can have several submissions. Answers sent before the patient's model
was revealed (by showing a scored worksheet) revise one row, the one that counts;
a submission after the reveal is stored as its own row marked ``after_reveal``
and never counts in debriefs or analytics."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class FormulationWorksheet(models.Model):
    session = models.ForeignKey("simulations.PracticeSession", on_delete=models.CASCADE, related_name="formulations")
    fields = models.JSONField(default=dict, help_text="The trainee's answers, keyed by worksheet field.")
    score = models.JSONField(default=dict, blank=True, help_text="Per-field score with explanations.")
    scored_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    after_reveal = models.BooleanField(
        default=False, help_text="Submitted after the patient's model was shown: kept, but does not count."
    )

    class Meta:
        ordering = ["session", "submitted_at", "pk"]
        constraints = [
            # At most one submission that counts per session.
            models.UniqueConstraint(fields=["session"], condition=models.Q(after_reveal=False), name="one_counted_worksheet"),
        ]

    def __str__(self) -> str:
        return f"formulation of session {self.session_id}"
