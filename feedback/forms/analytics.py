"""Filters of the cohort dashboard (kept in the URL) and the instructor's turn comment."""

from __future__ import annotations

from django import forms

from feedback.selectors.cohort_analytics import DIFFICULTIES, MODES, CohortFilters
from feedback.services.comments import MAX_COMMENT_CHARS

SORTS = [("name", "Trainee"), ("sessions", "Sessions"), ("latest", "Latest level"), ("change", "Change")]


class CohortFilterForm(forms.Form):
    framework = forms.ChoiceField(choices=[], required=False)
    scenario = forms.ChoiceField(choices=[], required=False)
    difficulty = forms.ChoiceField(choices=[("", "Any difficulty")] + [(d, d.title()) for d in DIFFICULTIES], required=False)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    mode = forms.ChoiceField(choices=MODES, required=False, label="Sessions")
    sort = forms.ChoiceField(choices=SORTS, required=False)
    skill = forms.CharField(required=False, max_length=80)
    desc = forms.BooleanField(required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=100000)

    def __init__(self, *args, frameworks: list[tuple[str, str, str]], scenarios: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["framework"].choices = [(slug, name) for slug, name, _kind in frameworks]
        self.fields["scenario"].choices = [("", "Any scenario")] + list(scenarios)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("data-testid", f"filter-{name}")

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self, *, default_framework: str) -> CohortFilters:
        data = self.cleaned_data
        return CohortFilters(
            framework=data.get("framework") or default_framework, scenario=data.get("scenario") or "",
            difficulty=data.get("difficulty") or "", date_from=data.get("date_from"), date_to=data.get("date_to"),
            mode=data.get("mode") or "all",
        )


class TurnCommentForm(forms.Form):
    text = forms.CharField(max_length=MAX_COMMENT_CHARS, widget=forms.Textarea(attrs={"rows": 2, "data-testid": "comment-text"}),
                           label="Comment for the trainee")
