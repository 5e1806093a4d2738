"""Decode uploaded audio to 16 kHz mono float32 with PyAV, validating type, size and duration.

Browsers record webm/opus (Chrome, Firefox) or mp4/aac (Safari); people upload wav, mp3,
m4a, ogg. Everything goes through FFmpeg (PyAV) and is resampled once, here, so the
VAD and ASR engines only ever see one format. Any failure becomes a SpeechError whose
message a trainee can read; nothing from FFmpeg reaches them as a stack trace.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainer_app.engines.speech.config import speech_setting
from trainer_app.engines.speech.errors import AudioTooLarge, AudioTooLong, AudioUndecodable, AudioUnsupportedType

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000

# PyAV/FFmpeg demuxer names (a demuxer may list several aliases, comma separated).
ALLOWED_CONTAINERS = frozenset({"matroska", "webm", "ogg", "wav", "mp3", "mov", "mp4", "m4a", "flac", "aac"})
ALLOWED_CODECS = frozenset({"opus", "libopus", "vorbis", "mp3", "mp3float", "aac", "flac", "alac"})
ALLOWED_MIME_TYPES = frozenset(
    {
        "audio/webm", "video/webm", "audio/ogg", "audio/opus", "application/ogg",
        "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave",
        "audio/mpeg", "audio/mp3", "audio/mp4", "audio/x-m4a", "audio/m4a", "audio/aac",
        "audio/flac", "audio/x-flac",
        "application/octet-stream",  # generic uploads: the content is sniffed below anyway
    }
)  # fmt: skip
ALLOWED_EXTENSIONS = frozenset(
    {".webm", ".weba", ".ogg", ".oga", ".opus", ".wav", ".mp3", ".m4a", ".mp4", ".aac", ".flac"}
)

# A truncated upload (connection dropped mid-recording) still holds useful speech.
MIN_SECONDS_TO_KEEP_TRUNCATED = 1.0


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray = field(repr=False)  # float32, mono, SAMPLE_RATE
    sample_rate: int
    container: str
    codec: str
    truncated: bool = False

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def _pretty_limit(*, n_bytes: int) -> str:
    return f"{n_bytes / (1024 * 1024):.0f} MB" if n_bytes >= 1024 * 1024 else f"{n_bytes / 1024:.0f} KB"


def audio_validate_hints(*, filename: str = "", mime: str = "") -> None:
    """Reject uploads whose declared type is clearly not audio, before touching FFmpeg."""
    base_mime = mime.split(";", 1)[0].strip().lower()
    if base_mime and base_mime not in ALLOWED_MIME_TYPES:
        raise AudioUnsupportedType(
            f"Files of type {base_mime} can't be used. Please upload audio as webm, ogg, wav, mp3 or m4a."
        )
    suffix = Path(filename).suffix.lower()
    if suffix and suffix not in ALLOWED_EXTENSIONS:
        raise AudioUnsupportedType(
            f"“{Path(filename).name}” doesn't look like an audio file. Please upload webm, ogg, wav, mp3 or m4a."
        )


def _source_size(*, source: bytes | str | Path) -> int:
    if isinstance(source, bytes | bytearray | memoryview):
        return len(source)
    try:
        return Path(source).stat().st_size
    except OSError as exc:
        raise AudioUndecodable("The audio file could not be read.") from exc


def _container_allowed(*, format_name: str) -> bool:
    return any(alias in ALLOWED_CONTAINERS for alias in format_name.split(","))


def _codec_allowed(*, codec_name: str) -> bool:
    return codec_name in ALLOWED_CODECS or codec_name.startswith("pcm_")


def audio_decode(
    *,
    source: bytes | str | Path,
    filename: str = "",
    mime: str = "",
    max_bytes: int | None = None,
    max_seconds: float | None = None,
) -> DecodedAudio:
    """Decode `source` (bytes or a file path) to 16 kHz mono float32, enforcing the limits.

    Raises AudioUnsupportedType, AudioTooLarge, AudioTooLong or AudioUndecodable.
    """
    import av

    max_bytes = int(speech_setting(name="AUDIO_MAX_BYTES")) if max_bytes is None else max_bytes
    max_seconds = float(speech_setting(name="AUDIO_MAX_SECONDS")) if max_seconds is None else max_seconds
    audio_validate_hints(filename=filename or (str(source) if isinstance(source, str | Path) else ""), mime=mime)

    size = _source_size(source=source)
    if size > max_bytes:
        raise AudioTooLarge(
            f"That recording is too large ({_pretty_limit(n_bytes=size)}); the limit is {_pretty_limit(n_bytes=max_bytes)}."
        )
    if size == 0:
        raise AudioUndecodable("The recording is empty. Please record again.")

    handle = io.BytesIO(bytes(source)) if isinstance(source, bytes | bytearray | memoryview) else str(source)
    max_samples = int(max_seconds * SAMPLE_RATE)
    too_long = AudioTooLong(
        f"That recording is longer than the {max_seconds:.0f}-second limit. Please keep it shorter."
    )
    chunks: list[np.ndarray] = []
    n_samples = 0
    truncated = False
    try:
        container = av.open(handle, mode="r")
    except Exception as exc:  # FFmpeg raises many types for hostile input; all mean "not audio we can read"
        logger.info("audio: cannot open upload (%s)", exc)
        raise AudioUndecodable(
            "We couldn't read that audio file. It may be damaged or in an unsupported format."
        ) from exc
    with container:
        format_name = container.format.name if container.format else ""
        if not _container_allowed(format_name=format_name):
            raise AudioUnsupportedType(
                f"Audio in the “{format_name}” format can't be used. Please upload webm, ogg, wav, mp3 or m4a."
            )
        if not container.streams.audio:
            raise AudioUndecodable("That file has no audio track.")
        stream = container.streams.audio[0]
        codec_name = stream.codec_context.name if stream.codec_context else ""
        if not _codec_allowed(codec_name=codec_name):
            raise AudioUnsupportedType(
                f"Audio encoded as “{codec_name}” can't be used. Please upload opus, vorbis, pcm, mp3, aac or flac audio."
            )
        # Reject early when the header already says it's too long (MediaRecorder webm has no duration).
        if container.duration is not None and container.duration / 1_000_000 > max_seconds + 0.5:
            raise too_long
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    n_samples += len(chunk)
                if n_samples > max_samples:  # stop decoding bombs early: a small file can hold hours of opus
                    raise too_long
            for out in resampler.resample(None):
                chunk = out.to_ndarray().reshape(-1)
                chunks.append(chunk)
                n_samples += len(chunk)
        except AudioTooLong:
            raise
        except Exception as exc:
            if n_samples < MIN_SECONDS_TO_KEEP_TRUNCATED * SAMPLE_RATE:
                logger.info("audio: decoding failed after %d samples (%s)", n_samples, exc)
                raise AudioUndecodable(
                    "We couldn't read that audio file. It may be damaged or in an unsupported format."
                ) from exc
            logger.warning("audio: keeping %.1f s of a damaged upload (%s)", n_samples / SAMPLE_RATE, exc)
            truncated = True
    if n_samples > max_samples:
        raise too_long
    if n_samples == 0:
        raise AudioUndecodable("That file contains no audio we could decode.")
    samples = np.ascontiguousarray(np.concatenate(chunks), dtype=np.float32)
    if not np.isfinite(samples).all():
        raise AudioUndecodable("That audio file is damaged (it contains invalid samples).")
    return DecodedAudio(
        samples=samples, sample_rate=SAMPLE_RATE, container=format_name, codec=codec_name, truncated=truncated
    )
