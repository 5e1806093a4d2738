"""Forms of the core pages."""

from __future__ import annotations

from django import forms


class CohortExamChoiceForm(forms.Form):
    allowed = forms.BooleanField(required=False, label="Trainees may choose to take scenarios as exams",
                                 widget=forms.CheckboxInput(attrs={"data-testid": "cohort-exam-choice"}))


def cohort_exam_choice_form(*, cohort, data=None) -> CohortExamChoiceForm:
    """One form per cohort row: ids carry the cohort so several forms share a page."""
    return CohortExamChoiceForm(data, initial={"allowed": cohort.exam_choice}, auto_id=f"cohort-{cohort.pk}-%s")
