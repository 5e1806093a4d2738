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

    def clean(self):
        data = super().clean()
        # A rating override needs a comment (as clinical-skills platforms require): the trainee sees why.
        if data.get("corrected_label") and not (data.get("corrected_text") or "").strip():
            self.add_error(None, "A changed rating needs a comment: say why in “Corrected feedback”.")
        return data
