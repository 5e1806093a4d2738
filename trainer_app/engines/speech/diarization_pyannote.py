"""Production diarization backend: a pyannote.audio 4 pipeline.

`DIARIZATION_PIPELINE` names either a local directory holding `config.yaml` (with `$model/segmentation`,
`$model/embedding`, `$model/plda` entries, the layout of pyannote/speaker-diarization-community-1) or,
only when `DIARIZATION_ALLOW_DOWNLOAD` is on, a pipeline on the Hugging Face hub (with `HF_TOKEN`).
The pipeline is loaded once per process with `Pipeline.from_pretrained`, and fed in-memory waveforms
(the install leaves out torchcodec, so pyannote never decodes files itself).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


class PipelineUnavailable(RuntimeError):
    """The configured pipeline cannot be loaded; the message says why."""


@dataclass(frozen=True)
class PyannoteTurn:
    start: float
    end: float
    speaker: str


_lock = threading.Lock()
_state: dict = {"source": None, "pipeline": None, "error": ""}


def pipeline_source_check(*, source: str, allow_download: bool) -> str:
    """'local' or 'hub' for a usable source; raises PipelineUnavailable with the reason otherwise."""
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "config.yaml").is_file():
            raise PipelineUnavailable(f"{path} holds no config.yaml (expected the community-1 layout)")
        return "local"
    if path.is_file() and path.name.endswith((".yaml", ".yml")):
        return "local"
    if source.startswith(("/", ".", "~")) or path.exists():
        raise PipelineUnavailable(f"diarization pipeline directory {source} does not exist")
    if not allow_download:
        raise PipelineUnavailable(
            f"{source} is not a local directory and DIARIZATION_ALLOW_DOWNLOAD is off (no hub downloads)"
        )
    return "hub"


def pipeline_load(*, source: str, allow_download: bool, token: str = "", device: str = "cpu"):
    """Load (once per source) and return the pyannote pipeline."""
    if _state["source"] == source and _state["pipeline"] is not None:
        return _state["pipeline"]
    with _lock:
        if _state["source"] == source and _state["pipeline"] is not None:
            return _state["pipeline"]
        try:
            kind = pipeline_source_check(source=source, allow_download=allow_download)
            from trainer_app.engines.speech.pyannote_env import pyannote_import

            pyannote_import()
            from pyannote.audio import Pipeline

            pipeline = Pipeline.from_pretrained(
                str(Path(source).expanduser()) if kind == "local" else source, token=token or None
            )
            if pipeline is None:  # pyannote returns None when the hub refuses (gated model, bad token)
                raise PipelineUnavailable(f"pyannote could not fetch {source} (gated model or bad HF_TOKEN?)")
            if device and device != "cpu":
                import torch

                pipeline.to(torch.device(device))
        except PipelineUnavailable as exc:
            _state.update(source=source, pipeline=None, error=str(exc))
            raise
        except Exception as exc:
            _state.update(source=source, pipeline=None, error=f"{type(exc).__name__}: {exc}")
            raise PipelineUnavailable(f"cannot load pyannote pipeline {source}: {type(exc).__name__}: {exc}") from exc
        _state.update(source=source, pipeline=pipeline, error="")
        logger.info("diarization: loaded pyannote pipeline from %s", source)
        return pipeline


def pipeline_state() -> dict:
    return dict(_state)


def pipeline_reset() -> None:
    """Forget the loaded pipeline (tests, settings changes)."""
    with _lock:
        _state.update(source=None, pipeline=None, error="")


def diarize_pyannote(
    *,
    pipeline,
    samples: np.ndarray,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> tuple[list[PyannoteTurn], list[str]]:
    """Turns from the pipeline's (overlap-aware) speaker diarization, sorted by start."""
    import torch

    waveform = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None, :]
    kwargs = {k: v for k, v in (("num_speakers", num_speakers), ("min_speakers", min_speakers),
                                ("max_speakers", max_speakers)) if v is not None}  # fmt: skip
    output = pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE}, **kwargs)
    annotation = getattr(output, "speaker_diarization", output)  # 4.x DiarizeOutput, 3.x Annotation
    turns = [
        PyannoteTurn(float(segment.start), float(segment.end), str(label))
        for segment, _, label in annotation.itertracks(yield_label=True)
        if segment.duration > 0
    ]
    turns.sort(key=lambda t: (t.start, t.end, t.speaker))
    return turns, ["pyannote pipeline: overlapped speech is kept (turns of different speakers may overlap)"]
