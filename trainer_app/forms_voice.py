"""Forms of the voice enrolment pages."""

from __future__ import annotations

from django import forms
from django.conf import settings

from trainer_app.engines.speech.audio import audio_validate_hints
from trainer_app.engines.speech.errors import SpeechError

# What a person reads aloud: about 10 seconds at a relaxed pace, varied sounds.
READ_ALOUD_TEXT = (
    "Thank you for coming in today. I would like to hear how the last few weeks have been for you, "
    "what has gone well, what has been hard, and what you would most like to work on together."
)


class VoiceEnrolmentForm(forms.Form):
    consent = forms.BooleanField(
        label="I agree that a voice print is computed from this recording",
        help_text="The voice print is a list of numbers that describes how your voice sounds. It is used to "
        "tell who is speaking in recordings of sessions you take part in. You can delete it at any time.",
        error_messages={"required": "Please tick the consent box first: no voice print is made without it."},
        widget=forms.CheckboxInput(attrs={"data-testid": "voice-consent"}),
    )
    keep_audio = forms.BooleanField(
        label="Keep my recording",
        required=False,
        help_text="Unticked, the recording is deleted as soon as the voice print is computed.",
        widget=forms.CheckboxInput(attrs={"data-testid": "voice-keep-audio"}),
    )
    audio = forms.FileField(
        label="Recording",
        help_text="Record with the button above, or choose an audio file (webm, ogg, wav, mp3 or m4a) "
        "of you reading the text aloud.",
        error_messages={"required": "No recording was received. Record or choose a file first.",
                        "empty": "The recording is empty. Please record again."},
        widget=forms.ClearableFileInput(attrs={"accept": "audio/*", "data-testid": "voice-file"}),
    )  # fmt: skip

    def clean_audio(self):
        audio = self.cleaned_data["audio"]
        if audio.size > settings.AUDIO_MAX_BYTES:
            raise forms.ValidationError(
                f"That recording is too large ({audio.size // 1024} KB); the limit is {settings.AUDIO_MAX_BYTES // 1024} KB."
            )
        try:
            audio_validate_hints(filename=audio.name or "", mime=audio.content_type or "")
        except SpeechError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return audio


class VoiceEnrolmentForUserForm(VoiceEnrolmentForm):
    """An admin uploads a clip for someone: the admin confirms that person's consent."""

    consent = forms.BooleanField(
        label="This person has agreed that a voice print is computed from this recording",
        error_messages={"required": "Please confirm the person's consent: no voice print is made without it."},
        widget=forms.CheckboxInput(attrs={"data-testid": "voice-consent"}),
    )
    keep_audio = forms.BooleanField(
        label="This person agreed that the recording is kept",
        required=False,
        help_text="Unticked, the recording is deleted as soon as the voice print is computed.",
        widget=forms.CheckboxInput(attrs={"data-testid": "voice-keep-audio"}),
    )
