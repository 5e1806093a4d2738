"""Reading a session's formulation worksheets: the one that counts, and later ones."""

from __future__ import annotations

from feedback.models import FormulationWorksheet


def worksheet_counted(*, session_id: int) -> FormulationWorksheet | None:
    """The submission that counts: the one made before the patient's model was revealed."""
    return FormulationWorksheet.objects.filter(session_id=session_id, after_reveal=False).first()


def worksheet_latest_after_reveal(*, session_id: int) -> FormulationWorksheet | None:
    """The newest submission made after the reveal (shown, marked, never counted)."""
    return FormulationWorksheet.objects.filter(session_id=session_id, after_reveal=True).order_by("-submitted_at", "-pk").first()


def worksheet_model_revealed(*, worksheet: FormulationWorksheet | None, results_visible: bool) -> bool:
    """The trainee has been shown the patient's model: the counted worksheet is scored and its
    score (with the model beside it) is visible to them."""
    return worksheet is not None and worksheet.scored_at is not None and results_visible
