from __future__ import annotations

from django import forms

from simulations.cognitive_model import ALL_CORE_BELIEFS, EMOTIONS

TEXTAREA = forms.Textarea(attrs={"rows": 2})


class FormulationWorksheetForm(forms.Form):
    """The trainee's formulation of the patient (PATIENT-Ψ worksheet fields)."""

    situation = forms.CharField(max_length=2000, required=False, widget=TEXTAREA, label="Situation")
    automatic_thoughts = forms.CharField(max_length=2000, required=False, widget=TEXTAREA, label="Automatic thoughts")
    emotions = forms.MultipleChoiceField(
        choices=[(e, e) for e in EMOTIONS], required=False, widget=forms.CheckboxSelectMultiple, label="Emotions"
    )
    behaviour = forms.CharField(max_length=2000, required=False, widget=TEXTAREA, label="Behaviour")
    core_beliefs = forms.MultipleChoiceField(
        choices=[(b, b) for b in ALL_CORE_BELIEFS], required=False, widget=forms.CheckboxSelectMultiple, label="Core beliefs"
    )
    intermediate_beliefs = forms.CharField(max_length=2000, required=False, widget=TEXTAREA, label="Intermediate beliefs")
    coping_strategies = forms.CharField(max_length=2000, required=False, widget=TEXTAREA, label="Coping strategies")
