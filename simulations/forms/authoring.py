"""Authoring forms. Each builds pack-format data and validates it with the
same validator as pack import, so the UI and packs can never disagree."""

from __future__ import annotations

from django import forms

from simulations.forms.errors import pack_errors_to_form, yaml_text
from simulations.models import Persona, Scenario
from simulations.packs.checks import Errors
from simulations.packs.loading import yaml_fragment_load
from simulations.packs.personas import persona_validate
from simulations.packs.registry import PackContext, pack_section_choices
from simulations.packs.scenarios import scenario_validate
from simulations.packs.schema import (
    DEFAULT_TIME_LIMIT_MINUTES,
    DIFFICULTY_LEVELS,
    MODE_DEFAULTS,
    PERSONA_KIND_SECTION,
    PERSONA_KINDS,
    PERSONA_STYLES,
    SCENARIO_STYLES,
    VOICE_GENDERS,
)
from trainer_app.models import Cohort

SLUG_HELP = "Lowercase letters, digits and hyphens; it cannot be changed later."


class PersonaForm(forms.Form):
    slug = forms.CharField(max_length=80, help_text=SLUG_HELP, widget=forms.TextInput(attrs={"data-testid": "persona-slug"}))
    kind = forms.ChoiceField(choices=[(k, k) for k in PERSONA_KINDS], widget=forms.Select(attrs={"data-testid": "persona-kind"}))
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"data-testid": "persona-name"}))
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "data-testid": "persona-summary"}),
        help_text="Shown to the trainee in the brief. Never put hidden facts here.",
    )
    style = forms.ChoiceField(choices=[(s, s) for s in PERSONA_STYLES], initial="plain",
                              widget=forms.Select(attrs={"data-testid": "persona-style"}))
    style_instruction = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "data-testid": "persona-style-instruction"}),
                                        help_text="Required when the style is custom: how the persona speaks.")
    voice_lang = forms.CharField(required=False, max_length=35, label="Voice language", help_text="For example en-GB.",
                                 widget=forms.TextInput(attrs={"data-testid": "persona-voice-lang"}))
    voice_gender = forms.ChoiceField(required=False, label="Voice gender", choices=[("", "any")] + [(g, g) for g in VOICE_GENDERS],
                                     widget=forms.Select(attrs={"data-testid": "persona-voice-gender"}))
    voice_pitch = forms.FloatField(required=False, label="Voice pitch", help_text="0 to 2; 1 is normal.",
                                   widget=forms.NumberInput(attrs={"step": "0.1", "data-testid": "persona-voice-pitch"}))
    voice_rate = forms.FloatField(required=False, label="Voice rate", help_text="0.1 to 10; 1 is normal.",
                                  widget=forms.NumberInput(attrs={"step": "0.1", "data-testid": "persona-voice-rate"}))
    cognitive_model = forms.CharField(required=False, label="Cognitive model (CBT patients, YAML)",
                                      widget=forms.Textarea(attrs={"rows": 12, "class": "code", "data-testid": "persona-cognitive-model"}),
                                      help_text="history, core_beliefs, intermediate_beliefs, coping_strategies, situations; see the pack guide.")
    partner = forms.CharField(required=False, label="Partner (interpersonal partners, YAML)",
                              widget=forms.Textarea(attrs={"rows": 8, "class": "code", "data-testid": "persona-partner"}),
                              help_text="relationship, wants, objections, calmed_by, inflamed_by.")
    client = forms.CharField(required=False, label="Client (MI clients, YAML)",
                             widget=forms.Textarea(attrs={"rows": 8, "class": "code", "data-testid": "persona-client"}),
                             help_text="target_behaviour, reasons_for_change, reasons_against_change, change_talk_tendency.")
    facts = forms.CharField(required=False, label="Facts (YAML list)",
                            widget=forms.Textarea(attrs={"rows": 8, "class": "code", "data-testid": "persona-facts"}),
                            help_text="Each fact is released at a disclosure level: - {level: situation, text: ...}")
    script = forms.CharField(required=False, label="Script (YAML list)",
                             widget=forms.Textarea(attrs={"rows": 16, "class": "code", "data-testid": "persona-script"}),
                             help_text="Topics with prompts and replies for the scripted partner.")

    YAML_FIELDS = ("cognitive_model", "partner", "client", "facts", "script")
    ERROR_FIELDS = {"voice.lang": "voice_lang", "voice.gender": "voice_gender", "voice.pitch": "voice_pitch",
                    "voice.rate": "voice_rate", "voice": "voice_lang"}

    def __init__(self, *args, persona: Persona | None = None, **kwargs):
        self.persona = persona
        if persona is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(persona.data)
        super().__init__(*args, **kwargs)
        if persona is not None:
            self.fields["slug"].disabled = True
            self.fields["slug"].help_text = ""
        self.pack_data: dict | None = None

    @classmethod
    def initial_from(cls, data: dict) -> dict:
        voice = data.get("voice") or {}
        initial = {key: data.get(key, "") for key in ("slug", "kind", "name", "summary", "style", "style_instruction")}
        initial.update({f"voice_{key}": voice.get(key) for key in ("lang", "gender", "pitch", "rate")})
        initial.update({key: yaml_text(data.get(key)) for key in cls.YAML_FIELDS})
        return initial

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if self.persona is None and Persona.objects.filter(slug=slug).exists():
            raise forms.ValidationError("A persona with this slug already exists. Choose another slug.")
        return slug

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        data = {key: cleaned[key] for key in ("slug", "kind", "name", "summary", "style")}
        if cleaned["style_instruction"]:
            data["style_instruction"] = cleaned["style_instruction"]
        voice = {key: cleaned[f"voice_{key}"] for key in ("lang", "gender", "pitch", "rate") if cleaned[f"voice_{key}"] not in (None, "")}
        if voice:
            data["voice"] = voice
        for key in self.YAML_FIELDS:
            value, error = yaml_fragment_load(text=cleaned[key])
            if error:
                self.add_error(key, f"This {error}")
            elif value is not None:
                data[key] = value
        own = PERSONA_KIND_SECTION[cleaned["kind"]]
        for section in PERSONA_KIND_SECTION.values():
            if section != own and section in data:
                # Switching kind leaves the other kinds' parts behind: say so, don't store them.
                self.add_error(section, "Only used for another kind of persona: clear it, or change the kind.")
        if self.errors:
            return cleaned
        errors = Errors()
        persona_validate(item=data, path="", errors=errors)
        pack_errors_to_form(form=self, errors=errors, field_for=self.ERROR_FIELDS)
        self.pack_data = data
        return cleaned


def _number_list(text: str) -> list[float] | None:
    try:
        return [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        return None


class ScenarioForm(forms.Form):
    slug = forms.CharField(max_length=80, help_text=SLUG_HELP, widget=forms.TextInput(attrs={"data-testid": "scenario-slug"}))
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"data-testid": "scenario-title"}))
    persona = forms.ChoiceField(widget=forms.Select(attrs={"data-testid": "scenario-persona"}))
    frameworks = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple(attrs={"data-testid": "scenario-frameworks"}),
                                           help_text="The frameworks feedback is given with (at least one).")
    brief = forms.CharField(widget=forms.Textarea(attrs={"rows": 5, "data-testid": "scenario-brief"}),
                            help_text="What the trainee reads before starting.")
    learning_objectives = forms.CharField(required=False, label="Learning objectives",
                                          widget=forms.Textarea(attrs={"rows": 4, "data-testid": "scenario-objectives"}),
                                          help_text="One per line.")
    difficulty_level = forms.ChoiceField(label="Difficulty", choices=[(d, d) for d in DIFFICULTY_LEVELS], initial="medium",
                                         widget=forms.Select(attrs={"data-testid": "scenario-difficulty"}))
    trust_gain = forms.FloatField(required=False, label="Trust gain (override)", help_text="Leave empty to use the preset.",
                                  widget=forms.NumberInput(attrs={"step": "0.05", "data-testid": "scenario-trust-gain"}))
    disclosure_thresholds = forms.CharField(required=False, label="Disclosure thresholds (override)",
                                            help_text="Four numbers from 0 to 1, for example 0.2, 0.4, 0.6, 0.8. Leave empty to use the preset.",
                                            widget=forms.TextInput(attrs={"data-testid": "scenario-thresholds"}))
    hostility = forms.FloatField(required=False, label="Hostility (override)", help_text="0 to 1.",
                                 widget=forms.NumberInput(attrs={"step": "0.05", "data-testid": "scenario-hostility"}))
    concession_rate = forms.FloatField(required=False, label="Concession rate (override)", help_text="0 to 1.",
                                       widget=forms.NumberInput(attrs={"step": "0.05", "data-testid": "scenario-concession-rate"}))
    style = forms.ChoiceField(required=False, label="Style override", choices=[("", "the persona's own style")] + [(s, s) for s in SCENARIO_STYLES],
                              widget=forms.Select(attrs={"data-testid": "scenario-style"}))
    opening_line = forms.CharField(label="Opening line", help_text="The persona speaks first.",
                                   widget=forms.TextInput(attrs={"data-testid": "scenario-opening-line"}))
    time_limit_minutes = forms.IntegerField(label="Time limit (minutes)", initial=DEFAULT_TIME_LIMIT_MINUTES,
                                            widget=forms.NumberInput(attrs={"data-testid": "scenario-time-limit"}))
    mode_text = forms.BooleanField(required=False, label="Text", initial=MODE_DEFAULTS["text"],
                                   widget=forms.CheckboxInput(attrs={"data-testid": "scenario-mode-text"}))
    mode_voice = forms.BooleanField(required=False, label="Voice", initial=MODE_DEFAULTS["voice"],
                                    widget=forms.CheckboxInput(attrs={"data-testid": "scenario-mode-voice"}))
    mode_live_feedback = forms.BooleanField(required=False, label="Live feedback", initial=MODE_DEFAULTS["live_feedback"],
                                            widget=forms.CheckboxInput(attrs={"data-testid": "scenario-mode-live-feedback"}))
    mode_exam = forms.BooleanField(required=False, label="Exam (scripted partner, no hints)", initial=MODE_DEFAULTS["exam"],
                                   widget=forms.CheckboxInput(attrs={"data-testid": "scenario-mode-exam"}))
    cohorts = forms.ModelMultipleChoiceField(queryset=Cohort.objects.all(), required=False, label="Assigned cohorts",
                                             widget=forms.CheckboxSelectMultiple(attrs={"data-testid": "scenario-cohorts"}),
                                             help_text="Trainees in these cohorts see the scenario on their dashboard.")
    archived = forms.BooleanField(required=False, label="Archived (hidden from trainees)",
                                  widget=forms.CheckboxInput(attrs={"data-testid": "scenario-archived"}))

    ERROR_FIELDS = {
        "difficulty.level": "difficulty_level", "difficulty.trust_gain": "trust_gain",
        "difficulty.disclosure_thresholds": "disclosure_thresholds", "difficulty.hostility": "hostility",
        "difficulty.concession_rate": "concession_rate", "difficulty": "difficulty_level",
        "modes.text": "mode_text", "modes.voice": "mode_voice", "modes.live_feedback": "mode_live_feedback",
        "modes.exam": "mode_exam", "modes": "mode_text",
    }

    def __init__(self, *args, scenario: Scenario | None = None, **kwargs):
        self.scenario = scenario
        if scenario is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(scenario)
        super().__init__(*args, **kwargs)
        self.fields["persona"].choices = [("", "choose a persona")] + pack_section_choices(name="personas")
        self.fields["frameworks"].choices = pack_section_choices(name="frameworks")
        if scenario is not None:
            self.fields["slug"].disabled = True
            self.fields["slug"].help_text = ""
        else:
            del self.fields["archived"]
        self.pack_data: dict | None = None

    @staticmethod
    def initial_from(scenario: Scenario) -> dict:
        data = scenario.current_version.scenario_data
        difficulty = data.get("difficulty") or {}
        modes = {**MODE_DEFAULTS, **(data.get("modes") or {})}
        thresholds = difficulty.get("disclosure_thresholds")
        return {
            "slug": data["slug"], "title": data["title"], "persona": data["persona"], "frameworks": data["frameworks"],
            "brief": data["brief"], "learning_objectives": "\n".join(data.get("learning_objectives") or []),
            "difficulty_level": difficulty.get("level", "medium"), "trust_gain": difficulty.get("trust_gain"),
            "disclosure_thresholds": ", ".join(str(t) for t in thresholds) if thresholds else "",
            "hostility": difficulty.get("hostility"), "concession_rate": difficulty.get("concession_rate"),
            "style": data.get("style", ""), "opening_line": data["opening_line"],
            "time_limit_minutes": data.get("time_limit_minutes", DEFAULT_TIME_LIMIT_MINUTES),
            **{f"mode_{mode}": value for mode, value in modes.items()},
            "cohorts": list(scenario.cohorts.all()), "archived": scenario.is_archived,
        }

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if self.scenario is None and Scenario.objects.filter(slug=slug).exists():
            raise forms.ValidationError("A scenario with this slug already exists. Choose another slug.")
        return slug

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        difficulty = {"level": cleaned["difficulty_level"]}
        for key in ("trust_gain", "hostility", "concession_rate"):
            if cleaned[key] is not None:
                difficulty[key] = cleaned[key]
        if cleaned["disclosure_thresholds"].strip():
            numbers = _number_list(cleaned["disclosure_thresholds"])
            if numbers is None:
                self.add_error("disclosure_thresholds", "Enter four numbers separated by commas, for example 0.2, 0.4, 0.6, 0.8.")
                return cleaned
            difficulty["disclosure_thresholds"] = numbers
        data = {
            "slug": cleaned["slug"], "title": cleaned["title"], "persona": cleaned["persona"],
            "frameworks": list(cleaned["frameworks"]), "brief": cleaned["brief"],
            "learning_objectives": [line.strip() for line in cleaned["learning_objectives"].splitlines() if line.strip()],
            "difficulty": difficulty, "style": cleaned["style"], "opening_line": cleaned["opening_line"],
            "time_limit_minutes": cleaned["time_limit_minutes"],
            "modes": {mode: bool(cleaned[f"mode_{mode}"]) for mode in MODE_DEFAULTS},
        }
        if not data["learning_objectives"]:
            del data["learning_objectives"]
        if not data["style"]:
            del data["style"]
        errors = Errors()
        scenario_validate(item=data, path="", errors=errors, context=PackContext())
        pack_errors_to_form(form=self, errors=errors, field_for=self.ERROR_FIELDS)
        self.pack_data = data
        return cleaned
