import numpy as np
import pytest

from tests.support.speech import audio_encode, audio_read_wav
from trainer_app.engines.speech.audio import SAMPLE_RATE, audio_decode
from trainer_app.engines.speech.errors import AudioTooLarge, AudioTooLong, AudioUndecodable, AudioUnsupportedType


def test_wav_decodes_to_16k_mono_float32_with_the_same_samples(target_wav):
    decoded = audio_decode(source=target_wav.read_bytes(), filename="clip.wav", mime="audio/wav")
    original = audio_read_wav(path=target_wav)
    assert decoded.samples.dtype == np.float32
    assert decoded.sample_rate == SAMPLE_RATE
    assert decoded.codec == "pcm_s16le"
    assert len(decoded.samples) == len(original)
    assert np.max(np.abs(decoded.samples - original)) < 1e-3


@pytest.mark.parametrize(
    ("container", "mime"),
    [("webm", "audio/webm;codecs=opus"), ("ogg", "audio/ogg"), ("m4a", "audio/mp4"), ("mp3", "audio/mpeg")],
)
def test_browser_and_phone_formats_decode_to_the_same_duration(target_wav, speech_dir, container, mime):
    encoded = audio_encode(src=target_wav, dst=speech_dir / f"target.{container}", container=container)
    decoded = audio_decode(source=encoded.read_bytes(), filename=encoded.name, mime=mime)
    original = audio_read_wav(path=target_wav)
    assert abs(decoded.duration_s - len(original) / SAMPLE_RATE) < 0.1  # codec priming/padding only
    assert float(np.sqrt(np.mean(decoded.samples**2))) > 0.01  # real signal, not zeros


def test_a_path_decodes_like_bytes(target_wav):
    from_path = audio_decode(source=target_wav)
    from_bytes = audio_decode(source=target_wav.read_bytes())
    assert np.array_equal(from_path.samples, from_bytes.samples)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not audio at all " * 100,
        bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8)),
        b"\x1aE\xdf\xa3" + b"\x00" * 200,  # a webm (EBML) magic number and nothing else
    ],
    ids=["empty", "text", "random", "webm-header-only"],
)
def test_corrupt_uploads_raise_audio_undecodable_with_a_readable_message(payload):
    with pytest.raises(AudioUndecodable) as info:
        audio_decode(source=payload, filename="recording.webm", mime="audio/webm")
    assert "Traceback" not in str(info.value)
    assert str(info.value).endswith(".")


def test_truncated_webm_keeps_the_audio_before_the_damage(target_wav, speech_dir):
    encoded = audio_encode(src=target_wav, dst=speech_dir / "cut.webm", container="webm").read_bytes()
    decoded = audio_decode(source=encoded[: len(encoded) * 2 // 3])
    assert 1.0 < decoded.duration_s < audio_read_wav(path=target_wav).size / SAMPLE_RATE


def test_an_upload_over_the_size_limit_is_refused_before_decoding(target_wav):
    data = target_wav.read_bytes()
    with pytest.raises(AudioTooLarge, match="too large"):
        audio_decode(source=data, max_bytes=len(data) - 1)
    audio_decode(source=data, max_bytes=len(data))  # exactly at the limit is fine


def test_an_upload_over_the_duration_limit_is_refused(target_wav, speech_dir):
    seconds = audio_read_wav(path=target_wav).size / SAMPLE_RATE
    with pytest.raises(AudioTooLong, match="limit"):
        audio_decode(source=target_wav, max_seconds=seconds - 1)
    # webm from MediaRecorder carries no duration in its header: the limit holds while decoding
    webm = audio_encode(src=target_wav, dst=speech_dir / "long.webm", container="webm")
    with pytest.raises(AudioTooLong):
        audio_decode(source=webm, max_seconds=seconds - 1)


@pytest.mark.parametrize(("filename", "mime"), [("notes.txt", ""), ("", "text/html"), ("photo.png", "image/png")])
def test_declared_non_audio_types_are_refused(target_wav, filename, mime):
    with pytest.raises(AudioUnsupportedType):
        audio_decode(source=target_wav.read_bytes(), filename=filename, mime=mime)


def test_a_video_without_an_audio_track_is_refused(speech_dir):
    import av

    path = speech_dir / "silent-video.mp4"
    with av.open(str(path), mode="w") as sink:
        stream = sink.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), dtype=np.uint8), format="rgb24")
            sink.mux(stream.encode(frame.reformat(format="yuv420p")))
        sink.mux(stream.encode(None))
    with pytest.raises(AudioUndecodable, match="no audio"):
        audio_decode(source=path.read_bytes(), filename="clip.mp4")
