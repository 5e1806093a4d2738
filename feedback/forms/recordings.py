from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model

from feedback.models import Framework
from trainer_app.models import Cohort
from trainer_app.roles import user_is_admin

ANALYSIS_KINDS = ("teaching-feedback", "behaviour-coding", "skill-rubric")
DEFAULT_CONSENT = "Everyone recorded agreed to this recording being stored and analysed for teaching."
ROLE_CHOICES = [("trainee", "Trainee"), ("trainer", "Trainer"), ("patient", "Patient"), ("client", "Client"), ("", "(none)")]


def framework_choices() -> list[tuple[str, str]]:
    rows = Framework.objects.filter(kind__in=ANALYSIS_KINDS).order_by("name").values_list("slug", "name", "kind")
    return [("", "No analysis")] + [(slug, f"{name} ({kind})") for slug, name, kind in rows]


class RecordingUploadForm(forms.Form):
    file = forms.FileField(label="Audio or video file", widget=forms.ClearableFileInput(attrs={"data-testid": "recording-file"}))
    title = forms.CharField(max_length=200, required=False, widget=forms.TextInput(attrs={"data-testid": "recording-title"}))
    cohort = forms.ModelChoiceField(queryset=Cohort.objects.none(), widget=forms.Select(attrs={"data-testid": "recording-cohort"}))
    framework = forms.ChoiceField(choices=[], required=False, label="Analyse with", widget=forms.Select(attrs={"data-testid": "recording-framework"}))
    rubric_role = forms.ChoiceField(choices=ROLE_CHOICES[:4], initial="trainee", label="Rate the utterances of (MI coding, rubrics)",
                                    widget=forms.Select(attrs={"data-testid": "recording-rubric-role"}))
    trainer = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, label="Trainer (enrolled voice)",
                                     widget=forms.Select(attrs={"data-testid": "recording-trainer"}))
    trainee = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, label="Trainee (enrolled voice)",
                                     widget=forms.Select(attrs={"data-testid": "recording-trainee"}))
    num_speakers = forms.IntegerField(min_value=1, max_value=20, required=False, label="Number of speakers (if known)",
                                      widget=forms.NumberInput(attrs={"data-testid": "recording-num-speakers"}))
    consent_statement = forms.CharField(initial=DEFAULT_CONSENT, max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "data-testid": "recording-consent-statement"}))
    consent = forms.BooleanField(label="I confirm the statement above", widget=forms.CheckboxInput(attrs={"data-testid": "recording-consent"}))

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cohorts = Cohort.objects.all() if user_is_admin(user=user) else Cohort.objects.filter(owner=user)
        self.fields["cohort"].queryset = cohorts
        people = get_user_model().objects.filter(pk=user.pk) | get_user_model().objects.filter(cohorts__in=cohorts)
        if user_is_admin(user=user):
            people = get_user_model().objects.all()
        people = people.distinct().order_by("username")
        self.fields["trainer"].queryset = people
        self.fields["trainee"].queryset = people
        self.fields["framework"].choices = framework_choices()
        self.max_bytes = int(settings.RECORDING_MAX_BYTES)

    def clean(self):
        data = super().clean()
        if data.get("trainer") and data.get("trainer") == data.get("trainee"):
            self.add_error("trainee", "The trainer and the trainee must be different people.")
        return data


class SpeakerRenameForm(forms.Form):
    name = forms.CharField(max_length=120)
    role = forms.ChoiceField(choices=ROLE_CHOICES, required=False)


class SpeakerMergeForm(forms.Form):
    into = forms.IntegerField()


class SegmentReassignForm(forms.Form):
    speaker = forms.IntegerField()


class RecordingItemReviewForm(forms.Form):
    verdict = forms.ChoiceField(choices=[("agree", "Agree"), ("partly", "Partly agree"), ("disagree", "Disagree")])
    corrected_label = forms.ChoiceField(choices=[], required=False, label="Correct label")
    corrected_text = forms.CharField(max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Corrected feedback")

    def __init__(self, *args, labels: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["corrected_label"].choices = [("", "(keep the label)")] + [(label, label) for label in labels]


class RecordingFrameworkForm(forms.Form):
    framework = forms.ChoiceField(choices=[], required=False)
    rubric_role = forms.ChoiceField(choices=ROLE_CHOICES[:4])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["framework"].choices = framework_choices()
