"""Assessments of trainee turns, their per-skill items, and instructor reviews.

An Assessment is one framework's verdict on one turn (unique per pair, so a
re-run task finds the row instead of adding another). Reviews sit on items;
the latest review with a corrected label is what every score shows
(feedback.selectors.assessments.item_effective_label)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Assessment(models.Model):
    turn = models.ForeignKey("simulations.Turn", on_delete=models.CASCADE, related_name="assessments")
    framework = models.ForeignKey("feedback.Framework", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The slug is kept even if the framework is later deleted: the debrief still reads.
    framework_slug = models.SlugField(max_length=80)
    kind = models.CharField(max_length=40, blank=True)
    backend = models.CharField(max_length=80, blank=True)
    labels = models.JSONField(default=dict, blank=True, help_text="Behaviour coding: the codes of the turn.")
    feedback = models.TextField(blank=True)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Turn stored to assessment stored.")
    engine_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Time the engine took to assess.")
    pushed_at = models.DateTimeField(null=True, blank=True, help_text="When live feedback reached the session group.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["turn__index", "framework_slug"]
        constraints = [models.UniqueConstraint(fields=["turn", "framework_slug"], name="unique_assessment_turn_framework")]

    def __str__(self) -> str:
        return f"{self.framework_slug} on turn {self.turn_id}"


class AssessmentItem(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(default=0)
    skill = models.CharField(max_length=80)
    label = models.CharField(max_length=40)
    confidence = models.FloatField(default=0.0)
    evidence = models.TextField(blank=True)
    suggestion = models.TextField(blank=True)
    rewrite = models.TextField(blank=True)
    # The aligned exemplars as the engine returned them (id, label, utterance, feedback, similarity).
    exemplars = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["assessment", "position"]
        constraints = [models.UniqueConstraint(fields=["assessment", "skill"], name="unique_item_skill")]

    def __str__(self) -> str:
        return f"{self.skill}={self.label}"


class Review(models.Model):
    class Verdict(models.TextChoices):
        AGREE = "agree", "Agree"
        PARTLY = "partly", "Partly agree"
        DISAGREE = "disagree", "Disagree"

    item = models.ForeignKey(AssessmentItem, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    corrected_label = models.CharField(max_length=40, blank=True)
    corrected_text = models.TextField(blank=True)
    corrected_rewrite = models.TextField(blank=True)
    exemplar = models.ForeignKey(
        "feedback.Exemplar", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The exemplar this correction became.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.verdict} on item {self.item_id}"


class AssessmentRequest(models.Model):
    """The intent to assess a trainee turn: an outbox row written in the transaction
    that stores the turn, so a process that dies between that commit and enqueueing
    the task loses nothing (the sweep re-enqueues it). The task claims it with a
    conditional UPDATE (pending → running), so a turn is assessed once however many
    times its task is delivered."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    turn = models.OneToOneField("simulations.Turn", on_delete=models.CASCADE, related_name="assessment_request")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    hints = models.BooleanField(default=True, help_text="Push live hints to the page (not in exams or hint-free sessions).")
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="Last re-enqueued by the sweep.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="assessment_request_due")]

    def __str__(self) -> str:
        return f"assess turn {self.turn_id}: {self.status}"
