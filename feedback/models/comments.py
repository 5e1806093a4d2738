"""Instructors' time-stamped comments on a session's turns (the trainee reads them in the debrief)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TurnComment(models.Model):
    session = models.ForeignKey("simulations.PracticeSession", on_delete=models.CASCADE, related_name="turn_comments")
    turn = models.ForeignKey("simulations.Turn", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.TextField()
    at_seconds = models.FloatField(
        default=0.0, help_text="When in the session the commented turn was said (seconds from the start).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "at_seconds", "id"]
        indexes = [models.Index(fields=["session", "turn"])]

    def __str__(self) -> str:
        return f"comment on turn {self.turn_id}"
