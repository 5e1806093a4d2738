import numpy as np

from tests.support.speech import audio_read_wav, speech_concat, speech_silence
from trainer_app.engines.speech.vad import VAD_BACKEND, vad_speech_regions, vad_status


def test_speech_between_silences_is_found_where_it_is(target_wav, speech_dir):
    before = speech_silence(path=speech_dir / "before.wav", seconds=2.0)
    after = speech_silence(path=speech_dir / "after.wav", seconds=1.5)
    clip = speech_concat(paths=[before, target_wav, after], path=speech_dir / "padded.wav")
    samples = audio_read_wav(path=clip)
    speech_len = audio_read_wav(path=target_wav).size / 16000

    regions = vad_speech_regions(samples=samples)

    assert regions
    start, end = regions[0][0], regions[-1][1]
    assert 1.8 <= start <= 2.0 + 0.6  # target.wav itself starts with 0.3 s of silence
    assert 2.0 + speech_len - 0.8 <= end <= 2.0 + speech_len + 0.3
    assert all(a < b for a, b in regions)


def test_silence_and_white_noise_have_no_speech(silence_wav, noise_wav):
    assert vad_speech_regions(samples=audio_read_wav(path=silence_wav)) == []
    assert vad_speech_regions(samples=audio_read_wav(path=noise_wav)) == []


def test_empty_input_has_no_speech():
    assert vad_speech_regions(samples=np.zeros(0, dtype=np.float32)) == []


def test_status_reports_silero_from_faster_whisper(target_wav):
    vad_speech_regions(samples=audio_read_wav(path=target_wav))
    status = vad_status()
    assert (status.engine, status.backend, status.ok) == ("vad", VAD_BACKEND, True)
    assert status.detail == "loaded"
