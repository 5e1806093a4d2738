"""Forms of the privacy pages."""

from __future__ import annotations

from django import forms

from trainer_app.models import Consent


class ConsentForm(forms.Form):
    kind = forms.ChoiceField(choices=Consent.Kind.choices, widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("give", "I agree"), ("revoke", "Withdraw")], widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class PersonEraseForm(forms.Form):
    confirm_username = forms.CharField(label="Type the username to confirm",
                                       widget=forms.TextInput(attrs={"data-testid": "erase-confirm", "autocomplete": "off"}))

    def __init__(self, *args, username: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.username = username

    def clean_confirm_username(self):
        value = self.cleaned_data["confirm_username"].strip()
        if value != self.username:
            raise forms.ValidationError("That is not this person's username; nothing was deleted.")
        return value
