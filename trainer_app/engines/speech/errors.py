"""Speech errors whose message a trainee can read (they are shown in the UI as-is)."""

from __future__ import annotations


class SpeechError(Exception):
    """Base class: `str(error)` is a complete sentence fit for the person who uploaded the audio."""


class AudioUnsupportedType(SpeechError):
    pass


class AudioTooLarge(SpeechError):
    pass


class AudioTooLong(SpeechError):
    pass


class AudioUndecodable(SpeechError):
    pass


class NoSpeechDetected(SpeechError):
    pass
