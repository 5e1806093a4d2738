"""Exemplar form: checked with the pack validator (same rules as an import)."""

from __future__ import annotations

from django import forms

from feedback.models import Exemplar, Framework
from feedback.pack_schema import EXEMPLAR_SOURCES, exemplar_validate
from feedback.selectors.frameworks import framework_skill_labels
from simulations.forms.errors import pack_errors_to_form, yaml_text
from simulations.packs.checks import Errors
from simulations.packs.loading import yaml_fragment_load


class ExemplarForm(forms.Form):
    skill = forms.ChoiceField(widget=forms.Select(attrs={"data-testid": "exemplar-skill"}))
    label = forms.ChoiceField(help_text="Must be one of the chosen skill's labels.", widget=forms.Select(attrs={"data-testid": "exemplar-label"}))
    context = forms.CharField(required=False, label="Context (YAML list, oldest first)",
                              widget=forms.Textarea(attrs={"rows": 4, "class": "code", "data-testid": "exemplar-context"}),
                              help_text='For example: - {speaker: partner, text: "So what did you want to talk about?"}')
    utterance = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "data-testid": "exemplar-utterance"}),
                                help_text="What the trainee said.")
    feedback = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "data-testid": "exemplar-feedback"}),
                               help_text="What an expert would say about it.")
    rewrite = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "data-testid": "exemplar-rewrite"}),
                              help_text="A better way to say it (usually for weak or absent).")
    source = forms.ChoiceField(choices=[(s, s) for s in EXEMPLAR_SOURCES], initial="authored",
                               widget=forms.Select(attrs={"data-testid": "exemplar-source"}))

    def __init__(self, *args, framework: Framework, exemplar: Exemplar | None = None, **kwargs):
        if exemplar is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "skill": exemplar.skill, "label": exemplar.label, "context": yaml_text(exemplar.context),
                "utterance": exemplar.utterance, "feedback": exemplar.feedback, "rewrite": exemplar.rewrite,
                "source": exemplar.source,
            }
        super().__init__(*args, **kwargs)
        self.skill_labels = framework_skill_labels(framework=framework)
        self.fields["skill"].choices = [(s, s) for s in self.skill_labels]
        labels = sorted({label for labels in self.skill_labels.values() for label in labels})
        self.fields["label"].choices = [(label, label) for label in labels]
        self.pack_data: dict | None = None

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        context, error = yaml_fragment_load(text=cleaned["context"])
        if error:
            self.add_error("context", f"This {error}")
            return cleaned
        data = {key: cleaned[key] for key in ("skill", "label", "utterance", "feedback", "rewrite", "source")}
        data["context"] = context or []
        errors = Errors()
        exemplar_validate(item=data, path="", errors=errors, skill_labels=self.skill_labels)
        pack_errors_to_form(form=self, errors=errors)
        self.pack_data = data
        return cleaned
