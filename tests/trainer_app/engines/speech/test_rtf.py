from tests.support.speech import speech_synthesize
from trainer_app.engines.speech.rtf import speech_rtf


def test_rtf_is_processing_time_over_audio_duration(pocketsphinx_asr, speech_dir):
    clip = speech_synthesize(text="it sounds like the week has been really hard for you", path=speech_dir / "rtf.wav")
    timing = speech_rtf(audio_bytes=clip, repeats=2)
    assert abs(timing.total_s - (timing.decode_s + timing.transcribe_s)) < 1e-9
    assert abs(timing.rtf - timing.total_s / timing.duration_s) < 1e-9
    assert 0 < timing.decode_s < timing.total_s
    assert timing.backend.startswith("pocketsphinx") and timing.text
