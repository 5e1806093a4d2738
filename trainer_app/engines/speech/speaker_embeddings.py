"""Speaker embeddings: resemblyzer's GE2E voice encoder, weights shipped inside the `resemblyzer` package.

Only the weights file (`resemblyzer/pretrained.pt`, sha256 checked before loading) is taken from the
package. Importing `resemblyzer` itself would import librosa (numba) and webrtcvad, whose module needs
`pkg_resources`, which current setuptools no longer ships; so the network (3-layer LSTM 40→256, linear
256→256, ReLU, L2 norm) and its input features (40-band mel power spectrogram, 25 ms Hann windows every
10 ms, as `librosa.feature.melspectrogram` computes them) are written here with torch and numpy, and a
test checks both against librosa and resemblyzer's own code. Volume normalisation follows resemblyzer
(raise to -30 dBFS, never lower); its webrtcvad silence trimming is done with the project's Silero VAD.

Input: 16 kHz mono float32 samples. Output: L2-normalised float32 vectors of length 256, comparable
by cosine similarity (a dot product) only with vectors of the same `speaker_embedding_model_name()`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from pathlib import Path

import numpy as np

from trainer_app.engines.status import EngineStatus, register_engine

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
EMBEDDING_SIZE = 256
WEIGHTS_FILENAME = "pretrained.pt"
# resemblyzer 0.1.3 / 0.1.4 ship the same file
WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
BACKEND = "resemblyzer GE2E voice encoder (bundled weights)"

# resemblyzer/hparams.py
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s partial utterances, as the encoder was trained
PARTIALS_PER_S = 1.3
MIN_COVERAGE = 0.75
TARGET_DBFS = -30.0
INT16_MAX = 2**15 - 1
BATCH = 64  # windows per forward pass: bounds memory on long recordings

_load_lock = threading.Lock()
_state: dict = {"encoder": None, "error": "", "verified": None}


class SpeakerEmbeddingUnavailable(RuntimeError):
    """The encoder's weights are missing or are not the file we checked."""


def speaker_embedding_model_name() -> str:
    """Stored next to every embedding; embeddings with different names are never compared."""
    return f"resemblyzer-ge2e:{WEIGHTS_SHA256[:16]}"


# ---------------------------------------------------------------------------------------------
# weights


def _weights_path() -> Path:
    spec = importlib.util.find_spec("resemblyzer")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise SpeakerEmbeddingUnavailable("the resemblyzer package is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / WEIGHTS_FILENAME


def _sha256(*, path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify_weights(*, path: Path) -> None:
    """Raise unless `path` holds the expected weights; remembers a good (path, size, mtime)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise SpeakerEmbeddingUnavailable(f"voice encoder weights not found at {path}") from exc
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if _state["verified"] == key:
        return
    actual = _sha256(path=path)
    if actual != WEIGHTS_SHA256:
        raise SpeakerEmbeddingUnavailable(
            f"voice encoder weights at {path} have sha256 {actual}, expected {WEIGHTS_SHA256}; refusing to load them"
        )
    _state["verified"] = key


def _setting(*, name: str, default: str) -> str:
    """Django setting `name`, else the environment, else `default` (works before Django is set up)."""
    import os

    try:
        from django.conf import settings

        if settings.configured and hasattr(settings, name):
            return str(getattr(settings, name))
    except Exception as exc:  # no settings module: scripts and notebooks
        logger.debug("speaker embeddings: Django settings unavailable (%s)", exc)
    return os.environ.get(name, default)


def _torch_threads_limit() -> None:
    """The project's torch thread policy (TORCH_THREADS, default 1; 0 keeps torch's default), as for
    sentence embeddings: two torch threads per process on two shared cores ran ~10x slower under load."""
    import torch

    threads = int(_setting(name="TORCH_THREADS", default="1"))
    if threads > 0:
        torch.set_num_threads(threads)


def _build_encoder():
    import torch
    from torch import nn

    _torch_threads_limit()

    class VoiceEncoder(nn.Module):
        """resemblyzer.VoiceEncoder's network, parameter names included."""

        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(N_MELS, EMBEDDING_SIZE, 3, batch_first=True)
            self.linear = nn.Linear(EMBEDDING_SIZE, EMBEDDING_SIZE)
            self.relu = nn.ReLU()

        def forward(self, mels):
            _, (hidden, _) = self.lstm(mels)
            raw = self.relu(self.linear(hidden[-1]))
            return raw / torch.norm(raw, dim=1, keepdim=True).clamp_min(1e-12)

    path = _weights_path()
    _verify_weights(path=path)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in checkpoint["model_state"].items() if k.startswith(("lstm.", "linear."))}
    encoder = VoiceEncoder()
    encoder.load_state_dict(state, strict=True)  # every parameter present, every shape right
    encoder.eval()
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    return encoder


def _encoder():
    """The process-wide encoder, loaded once (lock-guarded); inference on it is thread-safe."""
    if _state["encoder"] is None:
        with _load_lock:
            if _state["encoder"] is None:
                try:
                    encoder = _build_encoder()
                except Exception as exc:
                    _state["error"] = str(exc)
                    logger.warning("speaker embeddings: cannot load the voice encoder: %s", exc)
                    raise
                _state.update(encoder=encoder, error="")
                logger.info("speaker embeddings: loaded %s", speaker_embedding_model_name())
    return _state["encoder"]


def speaker_embeddings_reset() -> None:
    """Forget the loaded encoder (tests)."""
    with _load_lock:
        _state.update(encoder=None, error="", verified=None)


# ---------------------------------------------------------------------------------------------
# features


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, log above."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    mel = hz / f_sp
    above = hz >= min_log_hz
    mel[above] = min_log_mel + np.log(hz[above] / min_log_hz) / logstep
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    hz = f_sp * mel
    above = mel >= min_log_mel
    hz[above] = min_log_hz * np.exp(logstep * (mel[above] - min_log_mel))
    return hz


_mel_cache: dict[str, np.ndarray] = {}


def _mel_basis() -> np.ndarray:
    """(N_MELS, N_FFT//2+1) triangular filters, Slaney area-normalised, 0 Hz to Nyquist."""
    basis = _mel_cache.get("basis")
    if basis is None:
        fft_freqs = np.fft.rfftfreq(N_FFT, d=1.0 / SAMPLE_RATE)
        mel_points = _mel_to_hz(
            np.linspace(_hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([SAMPLE_RATE / 2]))[0], N_MELS + 2)
        )
        fdiff = np.diff(mel_points)
        ramps = mel_points[:, None] - fft_freqs[None, :]
        lower = -ramps[:-2] / fdiff[:-1, None]
        upper = ramps[2:] / fdiff[1:, None]
        basis = np.maximum(0.0, np.minimum(lower, upper))
        basis *= (2.0 / (mel_points[2 : N_MELS + 2] - mel_points[:N_MELS]))[:, None]
        basis = basis.astype(np.float32)
        _mel_cache["basis"] = basis
    return basis


def _hann() -> np.ndarray:
    window = _mel_cache.get("hann")
    if window is None:
        n = np.arange(N_FFT)
        window = (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)  # periodic, as librosa
        _mel_cache["hann"] = window
    return window


def mel_frames(*, samples: np.ndarray) -> np.ndarray:
    """(n_frames, 40) float32 mel power spectrogram, frame i centred on sample i*160 (zero padded)."""
    wav = np.asarray(samples, dtype=np.float32)
    padded = np.pad(wav, (N_FFT // 2, N_FFT // 2), mode="constant")
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    if n_frames < 1:
        return np.zeros((0, N_MELS), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:n_frames]
    spectrum = np.fft.rfft(frames * _hann(), axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    return (power @ _mel_basis().T).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# preprocessing


def _validate(*, samples: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"speaker embeddings expect {SAMPLE_RATE} Hz audio, got {sample_rate} Hz")
    wav = np.asarray(samples, dtype=np.float32)
    if wav.ndim != 1:
        raise ValueError(f"speaker embeddings expect mono samples (1-D), got shape {wav.shape}")
    if len(wav) == 0:
        raise ValueError("speaker embeddings need at least one sample")
    if not np.isfinite(wav).all():
        raise ValueError("speaker embeddings got samples that are not finite numbers")
    return wav


def normalize_volume(*, samples: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Raise the level to `target_dbfs` (RMS), never lower it (resemblyzer's increase_only)."""
    rms = float(np.sqrt(np.mean(np.square(samples.astype(np.float64) * INT16_MAX))))
    if rms == 0.0:
        return samples
    change_db = target_dbfs - 20 * np.log10(rms / INT16_MAX)
    if change_db < 0:
        return samples
    return (samples * np.float32(10 ** (change_db / 20))).astype(np.float32)


def _speech_only(*, samples: np.ndarray) -> np.ndarray:
    """Drop silences (Silero VAD); the whole input when no speech is found (the caller judges)."""
    from trainer_app.engines.speech.vad import VadParams, vad_speech_regions

    params = VadParams(min_speech_ms=250, min_silence_ms=300, speech_pad_ms=150, max_region_s=28.0)
    regions = vad_speech_regions(samples=samples, sample_rate=SAMPLE_RATE, params=params)
    if not regions:
        return samples
    pieces = [samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)] for start, end in regions]
    return np.concatenate(pieces) if pieces else samples


# ---------------------------------------------------------------------------------------------
# embeddings


def _forward(*, mels: np.ndarray) -> np.ndarray:
    """(n, frames, 40) → (n, 256) L2-normalised, in batches."""
    import torch

    encoder = _encoder()
    out = []
    with torch.inference_mode():
        for start in range(0, len(mels), BATCH):
            out.append(encoder(torch.from_numpy(np.ascontiguousarray(mels[start : start + BATCH]))).numpy())
    return np.concatenate(out).astype(np.float32)


def _partial_slices(*, n_samples: int) -> list[slice]:
    """Mel-frame slices of 1.6 s partial utterances, as resemblyzer's compute_partial_slices."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    frame_step = int(np.round((SAMPLE_RATE / PARTIALS_PER_S) / HOP))
    steps = max(1, n_frames - PARTIAL_FRAMES + frame_step + 1)
    slices = [slice(i, i + PARTIAL_FRAMES) for i in range(0, steps, frame_step)]
    last = slices[-1]
    coverage = (n_samples - last.start * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < MIN_COVERAGE and len(slices) > 1:
        slices = slices[:-1]
    return slices


def embed_preprocessed(*, wav: np.ndarray) -> np.ndarray:
    """resemblyzer's embed_utterance on an already preprocessed 16 kHz waveform."""
    slices = _partial_slices(n_samples=len(wav))
    needed = slices[-1].stop * HOP
    if needed >= len(wav):
        wav = np.pad(wav, (0, needed - len(wav)), mode="constant")
    mel = mel_frames(samples=wav)
    partials = _forward(mels=np.stack([mel[s] for s in slices]))
    mean = partials.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def speaker_embed(*, samples: np.ndarray, sample_rate: int = SAMPLE_RATE, trim_silence: bool = True) -> np.ndarray:
    """One L2-normalised (256,) float32 vector for a stretch of one person's speech.

    Volume is raised to -30 dBFS, silences are dropped (unless `trim_silence` is False: the caller
    already cut speech), then 1.6 s partials at 1.3 per second are embedded and averaged.
    """
    wav = normalize_volume(samples=_validate(samples=samples, sample_rate=sample_rate))
    if trim_silence:
        wav = _speech_only(samples=wav)
    return embed_preprocessed(wav=wav)


def speaker_embed_windows(
    *, samples: np.ndarray, sample_rate: int = SAMPLE_RATE, window_s: float = 1.5, step_s: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of `window_s` windows every `step_s`: ((n, 256) float32, (n,) window centre times in s).

    Times are relative to `samples` (no silence is removed here). Input shorter than one window gives
    one embedding of the whole input, centred on its middle.
    """
    if window_s <= 0 or step_s <= 0:
        raise ValueError("window_s and step_s must be positive")
    wav = normalize_volume(samples=_validate(samples=samples, sample_rate=sample_rate))
    window_frames = max(1, int(round(window_s * SAMPLE_RATE / HOP)))
    step_frames = max(1, int(round(step_s * SAMPLE_RATE / HOP)))
    mel = mel_frames(samples=wav)
    # frame i covers samples around i*HOP; the last frame whose window lies fully inside the audio
    usable = max(1, len(wav) // HOP)
    if usable <= window_frames:
        embeddings = _forward(mels=mel[None, :usable])
        return embeddings, np.array([len(wav) / SAMPLE_RATE / 2], dtype=np.float64)
    starts = np.arange(0, usable - window_frames + 1, step_frames)
    mels = np.stack([mel[s : s + window_frames] for s in starts])
    centres = (starts + window_frames / 2) * HOP / SAMPLE_RATE
    return _forward(mels=mels), centres.astype(np.float64)


# ---------------------------------------------------------------------------------------------
# status


def speaker_embeddings_status() -> EngineStatus:
    name = "speaker_embeddings"
    if _state["encoder"] is not None:
        return EngineStatus(name, BACKEND, True, True, f"loaded {speaker_embedding_model_name()}")
    if _state["error"]:
        return EngineStatus(name, BACKEND, True, False, f"failed to load: {_state['error']}")
    try:
        _verify_weights(path=_weights_path())
    except SpeakerEmbeddingUnavailable as exc:
        return EngineStatus(name, BACKEND, True, False, str(exc))
    if importlib.util.find_spec("torch") is None:
        return EngineStatus(name, BACKEND, True, False, "torch is not installed")
    return EngineStatus(name, BACKEND, True, True, "weights present and checked; loads on first use")


register_engine("speaker_embeddings", speaker_embeddings_status)
