"""Frameworks, exemplars, assessments and reviews. Models are split by concern."""

from feedback.models.assessments import Assessment, AssessmentItem, AssessmentRequest, Review
from feedback.models.formulation import FormulationWorksheet
from feedback.models.frameworks import Exemplar, Framework

__all__ = ["Framework", "Exemplar", "Assessment", "AssessmentItem", "AssessmentRequest", "Review", "FormulationWorksheet"]
