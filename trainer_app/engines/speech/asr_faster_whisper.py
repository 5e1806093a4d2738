"""Whisper on CTranslate2 (faster-whisper) from a local model directory or a model name.

Used for the bundled weights (tiny.en, base; see asr_models) and for any model a deployment
configures. A name is only fetched from the hub when ASR_ALLOW_DOWNLOAD is on; otherwise it must
already be in the local hub cache. Our own VAD runs before this, so faster-whisper's VAD stays off.
Every segment carries word timestamps (cross-attention alignment, faster-whisper's word_timestamps).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from trainer_app.engines.speech.asr_types import AsrResult, AsrSegment, AsrWord


class FasterWhisperBackend:
    low_accuracy = False

    def __init__(
        self,
        *,
        model: str,
        device: str = "cpu",
        compute_type: str = "int8",
        allow_download: bool = False,
        cpu_threads: int = 0,
        beam_size: int = 5,
        label: str = "",
        production: bool = True,
    ) -> None:
        from faster_whisper import WhisperModel

        is_dir = Path(model).expanduser().is_dir()
        if not is_dir and (os.sep in model or model.startswith(".")) and not allow_download:
            # looks like a path: say so instead of surfacing a confusing hub error
            raise FileNotFoundError(f"no model directory at {model}")
        if is_dir and not (Path(model).expanduser() / "tokenizer.json").is_file():
            # without it faster-whisper fetches a tokenizer from the hub, which must not happen silently
            raise FileNotFoundError(f"{model} has no tokenizer.json")
        self.model_ref = str(Path(model).expanduser()) if is_dir else model
        self.name = f"faster-whisper ({label or (Path(self.model_ref).name if is_dir else model)})"
        self.production = production
        self.beam_size = max(1, int(beam_size))
        self._model = WhisperModel(
            self.model_ref,
            device=device,
            compute_type=compute_type,
            cpu_threads=max(0, int(cpu_threads)),
            local_files_only=not allow_download,
        )
        self.multilingual = bool(self._model.model.is_multilingual)

    def transcribe(self, *, samples: np.ndarray, sample_rate: int = 16000, language: str = "en") -> AsrResult:
        if sample_rate != 16000:
            raise ValueError("faster-whisper backend expects 16 kHz audio")
        if not self.multilingual:
            language = "en"  # an English-only model knows no other language token
        # WhisperModel.transcribe is thread-safe (CTranslate2 queues concurrent calls).
        segments, info = self._model.transcribe(
            np.asarray(samples, dtype=np.float32),
            language=language or None,
            beam_size=self.beam_size,
            vad_filter=False,
            word_timestamps=True,
            # conditioning on earlier text is the main cause of whisper's repetition loops
            condition_on_previous_text=False,
        )
        return AsrResult(
            segments=[
                AsrSegment(
                    start=float(s.start),
                    end=float(s.end),
                    text=s.text.strip(),
                    avg_logprob=float(s.avg_logprob),
                    no_speech_prob=float(s.no_speech_prob),
                    compression_ratio=float(s.compression_ratio),
                    words=tuple(
                        AsrWord(start=float(w.start), end=float(w.end), text=w.word.strip(),
                                probability=float(w.probability))
                        for w in (s.words or ())
                        if w.word.strip()
                    ),
                )
                for s in segments
            ],
            backend=self.name,
            low_accuracy=False,
            language=str(info.language or language or ""),
        )
