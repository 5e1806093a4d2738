"""Per-session rollups for the analytics pages: a cache of each session's rating counts per framework.

One row per (session, framework): effective label counts per skill (instructor corrections
applied) for skill rubrics, (behaviour, sub-code) counts for behaviour coding. Rows are
deleted when the session's assessments or reviews change (feedback.rollup_signals) and
rebuilt on the next read (feedback.services.rollups), so the dashboards read a few
thousand small rows instead of every assessment item."""

from __future__ import annotations

from django.db import models


class SessionRollup(models.Model):
    session = models.ForeignKey("simulations.PracticeSession", on_delete=models.CASCADE, related_name="rollups")
    framework_slug = models.SlugField(max_length=80)
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "framework_slug"], name="unique_rollup_session_framework")]

    def __str__(self) -> str:
        return f"rollup {self.framework_slug} of session {self.session_id}"
