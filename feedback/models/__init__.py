"""Frameworks, exemplars, assessments and reviews. Models are split by concern."""

from feedback.models.frameworks import Exemplar, Framework

__all__ = ["Framework", "Exemplar"]
