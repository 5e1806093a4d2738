from __future__ import annotations

from django import forms

from feedback.models import Review


def _textarea(testid: str) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": 2, "data-testid": testid})


class ReviewForm(forms.Form):
    """An instructor's verdict on one feedback item, optionally with a correction.

    The quick Agree / Disagree buttons post ``verdict`` alone; the "Correct…"
    form renders this form (``ReviewCorrectionForm``) with the skill's labels."""

    verdict = forms.ChoiceField(choices=Review.Verdict.choices, widget=forms.Select(attrs={"data-testid": "review-verdict"}))
    corrected_label = forms.ChoiceField(choices=[], required=False, label="Correct rating",
                                        widget=forms.Select(attrs={"data-testid": "review-label"}))
    corrected_text = forms.CharField(max_length=5000, required=False, widget=_textarea("review-text"), label="Corrected feedback")
    corrected_rewrite = forms.CharField(max_length=5000, required=False, widget=_textarea("review-rewrite"), label="Rewrite (optional)")

    def __init__(self, *args, labels: list[str], current_label: str = "", item_id: int | None = None, **kwargs) -> None:
        if item_id is not None:  # several items on one page: unique element ids
            kwargs.setdefault("auto_id", f"id_review_{item_id}_%s")
        super().__init__(*args, **kwargs)
        self.item_id = item_id
        keep = f"(keep {current_label})" if current_label else "(keep the rating)"
        self.fields["corrected_label"].choices = [("", keep)] + [(label, label) for label in labels]


class ReviewCorrectionForm(ReviewForm):
    """The "Correct…" form: a correction is a disagreement, in full or in part."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["verdict"].choices = [(Review.Verdict.DISAGREE, "Disagree"), (Review.Verdict.PARTLY, "Partly agree")]

    def clean(self):
        data = super().clean()
        # A rating override needs a comment (as clinical-skills platforms require): the trainee sees why.
        if data.get("corrected_label") and not (data.get("corrected_text") or "").strip():
            self.add_error("corrected_text", "A changed rating needs a comment: say why the rating changes.")
        return data


def review_form_class(*, verdict: str) -> type[ReviewForm]:
    """The form that validates a posted review: agreeing takes no correction."""
    return ReviewForm if verdict == Review.Verdict.AGREE else ReviewCorrectionForm
