from __future__ import annotations

from django import forms

from feedback.models import Review


class ReviewForm(forms.Form):
    verdict = forms.ChoiceField(choices=Review.Verdict.choices)
    corrected_label = forms.ChoiceField(choices=[], required=False, label="Correct rating")
    corrected_text = forms.CharField(max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Corrected feedback")
    corrected_rewrite = forms.CharField(max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Rewrite (optional)")

    def __init__(self, *args, labels: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["corrected_label"].choices = [("", "(keep the rating)")] + [(label, label) for label in labels]
