"""The trainee's choices before starting a session."""

from __future__ import annotations

from django import forms

from simulations.packs.schema import SCENARIO_STYLES


class SessionStartForm(forms.Form):
    style = forms.ChoiceField(required=False, label="How the patient talks",
                              widget=forms.RadioSelect(attrs={"data-testid": "session-style"}))
    mode = forms.ChoiceField(label="Practise by", widget=forms.RadioSelect(attrs={"data-testid": "session-mode"}))
    kind = forms.ChoiceField(
        label="Practice or exam", initial="practice",
        choices=[("practice", "Practice: live feedback and a debrief straight after"),
                 ("exam", "Exam: no hints; your instructor releases the results")],
        widget=forms.RadioSelect(attrs={"data-testid": "session-kind"}),
    )

    def __init__(self, *args, trainee_view: dict, exam_choice: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        modes = trainee_view["modes"]
        if not exam_choice or modes["exam"]:  # an exam-only scenario has nothing to choose
            del self.fields["kind"]
        self.fields["mode"].choices = [(m, m.capitalize()) for m in ("text", "voice") if modes[m]]
        self.fields["mode"].initial = self.fields["mode"].choices[0][0] if self.fields["mode"].choices else None
        if trainee_view["persona"]["kind"] == "cbt-patient" and not modes["exam"]:
            # PATIENT-Ψ's six conversational styles; the scenario's own is preselected.
            self.fields["style"].choices = [(s, s.capitalize()) for s in SCENARIO_STYLES]
            self.fields["style"].initial = trainee_view["style"] if trainee_view["style"] in SCENARIO_STYLES else "plain"
        else:
            del self.fields["style"]

    def wants_exam(self) -> bool:
        return self.cleaned_data.get("kind") == "exam"
