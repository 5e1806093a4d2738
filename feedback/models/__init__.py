"""Frameworks, exemplars, assessments and reviews. Models are split by concern."""

from feedback.models.assessments import Assessment, AssessmentItem, AssessmentRequest, Review
from feedback.models.comments import TurnComment
from feedback.models.formulation import FormulationWorksheet
from feedback.models.frameworks import Exemplar, Framework
from feedback.models.recordings import (
    Recording,
    RecordingEvent,
    RecordingItem,
    RecordingItemReview,
    RecordingParticipant,
    RecordingSegment,
    RecordingSpeaker,
    RecordingStage,
)
from feedback.models.rollups import SessionRollup

__all__ = [
    "Framework", "Exemplar", "Assessment", "AssessmentItem", "AssessmentRequest", "Review", "FormulationWorksheet", "TurnComment",
    "SessionRollup", "Recording", "RecordingEvent", "RecordingItem", "RecordingItemReview", "RecordingParticipant",
    "RecordingSegment", "RecordingSpeaker", "RecordingStage",
]
