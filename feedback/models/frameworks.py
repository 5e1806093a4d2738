"""Frameworks (skills or codes with their labels) and expert exemplars."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Framework(models.Model):
    KINDS = [
        ("skill-rubric", "Skill rubric"),
        ("behaviour-coding", "Behaviour coding"),
        ("formulation", "Formulation"),
        ("teaching-feedback", "Teaching feedback"),
    ]

    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=40, choices=KINDS)
    name = models.CharField(max_length=120)
    # Pack format without exemplars: description, labels, skills, targets.
    data = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped whenever an exemplar is added, edited or deleted (feedback.framework_revisions), so a worker
    # can tell with one small query that its cached copy of the framework is still current.
    revision = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Exemplar(models.Model):
    class Source(models.TextChoices):
        AUTHORED = "authored", "Authored"
        IMPORTED = "imported", "Imported"
        CORRECTION = "instructor-correction", "Instructor correction"

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="exemplars")
    skill = models.CharField(max_length=80)
    label = models.CharField(max_length=40)
    context = models.JSONField(default=list, blank=True)
    utterance = models.TextField()
    feedback = models.TextField(blank=True)
    rewrite = models.TextField(blank=True)
    source = models.CharField(max_length=30, choices=Source.choices, default=Source.AUTHORED)
    position = models.PositiveIntegerField(default=0, help_text="Order within the framework (pack order).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A correction copies a trainee's words; when that person is deleted it is kept only if an author
    # has checked that it identifies no one (trainer_app.privacy).
    anonymised = models.BooleanField(default=False)

    class Meta:
        ordering = ["framework", "position", "id"]
        indexes = [models.Index(fields=["framework", "skill"])]

    def __str__(self) -> str:
        return f"{self.framework.slug}/{self.skill}/{self.label}: {self.utterance[:40]}"
