"""Input a running session accepts: chat messages (websocket) and voice uploads."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator

CLIENT_ID_FIELD = dict(max_length=64, min_length=1, regex=r"^[A-Za-z0-9_.:-]+$")
# What browsers' MediaRecorder and people's uploads produce (parameters such as ";codecs=opus" allowed).
VOICE_MIME_TYPES = frozenset(
    {"audio/webm", "audio/ogg", "audio/wav", "audio/x-wav", "audio/wave", "audio/mpeg", "audio/mp4", "audio/x-m4a", "audio/aac"}
)


class ChatMessageForm(forms.Form):
    text = forms.CharField(strip=True, error_messages={"required": "Type a message before sending."})
    client_id = forms.RegexField(**CLIENT_ID_FIELD, error_messages={"invalid": "The message id is malformed.",
                                                                     "required": "The message has no id."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = settings.CHAT_MESSAGE_MAX_CHARS
        self.fields["text"].max_length = limit
        self.fields["text"].validators.append(MaxLengthValidator(limit))
        self.fields["text"].error_messages["max_length"] = (
            f"Your message is too long: keep it under {limit} characters."
        )

    def error_message(self) -> str:
        return " ".join(str(e) for errors in self.errors.values() for e in errors)


def _looks_like_audio(head: bytes) -> bool:
    """The container's own signature, so a renamed text file is refused at once
    rather than failing later in the speech worker."""
    return (
        head.startswith(b"\x1a\x45\xdf\xa3")  # EBML: webm / matroska
        or head.startswith(b"OggS")
        or (head.startswith(b"RIFF") and head[8:12] == b"WAVE")
        or head.startswith(b"ID3")
        or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)  # MPEG audio frame
        or head[4:8] == b"ftyp"  # mp4 / m4a
        or head.startswith(b"fLaC")
    )


class VoiceUploadForm(forms.Form):
    audio = forms.FileField(error_messages={"required": "No recording was received.", "empty": "The recording is empty."})
    client_id = forms.RegexField(**CLIENT_ID_FIELD)

    def clean_audio(self):
        audio = self.cleaned_data["audio"]
        mime = (audio.content_type or "").split(";", 1)[0].strip().lower()
        if mime not in VOICE_MIME_TYPES:
            raise forms.ValidationError(
                f"Recordings of type {mime or 'unknown'} can't be used; please record webm, ogg, wav, mp3 or m4a audio."
            )
        if audio.size > settings.AUDIO_MAX_BYTES:
            raise forms.ValidationError(
                f"That recording is too large ({audio.size // 1024} KB); the limit is {settings.AUDIO_MAX_BYTES // 1024} KB."
            )
        head = audio.read(16)
        audio.seek(0)
        if not _looks_like_audio(head):
            raise forms.ValidationError("That file is not an audio recording we can read (webm, ogg, wav, mp3, m4a).")
        return audio

    def error_message(self) -> str:
        return " ".join(str(e) for errors in self.errors.values() for e in errors)
