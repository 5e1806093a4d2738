"""Word error rate and real-time factor of the recognizers on speech with known words.

Every sentence of tests/support/speech.py's test set, spoken by several espeak-ng voices, clean
and over sox noise beds (white / pink / brown at a few SNRs), through the app's own speech
pipeline (decode → VAD → ASR → hallucination removal) with each model:

    python -m bench.asr_eval                                  # tiny.en and base, the default grid
    python -m bench.asr_eval --models tiny.en --conditions clean --voices 2 --sentences 4
    python -m bench.asr_eval --json out.json

WER = word edits / reference words, summed over the clips of a cell (case, punctuation and
contractions normalised); a clip where nothing was recognised counts every word as deleted.
RTF = processing time (decode + VAD + ASR) / audio duration, warm model, one clip at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CONDITIONS = "clean,whitenoise@20,whitenoise@10,pinknoise@10,brownnoise@5,pinknoise@0"


def conditions_parse(*, spec: str) -> tuple[tuple[str, float | None], ...]:
    out: list[tuple[str, float | None]] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        if item == "clean":
            out.append(("clean", None))
        else:
            color, _, snr = item.partition("@")
            out.append((color if color.endswith("noise") else f"{color}noise", float(snr.removesuffix("dB"))))
    return tuple(out)


def evaluate(
    *,
    models: list[str],
    conditions: tuple[tuple[str, float | None], ...],
    n_voices: int,
    n_sentences: int,
    out_dir: Path,
    progress=None,
) -> dict:
    from tests.support.speech import SPEECH_SENTENCES, SPEECH_VOICES, speech_test_set, wer_counts
    from trainer_app.engines.speech.asr import asr_backend_for_model
    from trainer_app.engines.speech.audio import audio_decode
    from trainer_app.engines.speech.errors import SpeechError
    from trainer_app.engines.speech.pipeline import speech_transcribe_decoded

    clips = speech_test_set(
        out_dir=out_dir,
        sentences=SPEECH_SENTENCES[:n_sentences],
        voices=SPEECH_VOICES[:n_voices],
        conditions=conditions,
    )
    rows: list[dict] = []
    for model in models:
        backend = asr_backend_for_model(model=model, purpose="recording" if model == "base" else "live")
        speech_transcribe_decoded(audio=audio_decode(source=clips[0]["path"]), backend=backend)  # warm-up
        for clip in clips:
            t0 = time.perf_counter()
            audio = audio_decode(source=clip["path"])
            try:
                text = speech_transcribe_decoded(audio=audio, backend=backend).text
            except SpeechError:
                text = ""
            elapsed = time.perf_counter() - t0
            edits, n_ref = wer_counts(reference=clip["text"], hypothesis=text)
            rows.append({"model": model, "backend": backend.name, "voice": clip["voice"], "condition": clip["condition"],
                         "reference": clip["text"], "hypothesis": text, "edits": edits, "words": n_ref,
                         "audio_s": audio.duration_s, "processing_s": elapsed})
            if progress:
                progress(rows[-1])
    cells: dict[tuple[str, str], dict] = {}
    for row in rows:
        cell = cells.setdefault((row["model"], row["condition"]), {"edits": 0, "words": 0, "audio_s": 0.0,
                                                                     "processing_s": 0.0, "clips": 0, "empty": 0})
        cell["edits"] += row["edits"]
        cell["words"] += row["words"]
        cell["audio_s"] += row["audio_s"]
        cell["processing_s"] += row["processing_s"]
        cell["clips"] += 1
        cell["empty"] += not row["hypothesis"]
    table = [
        {"model": model, "condition": condition, "wer": round(c["edits"] / c["words"], 3),
         "rtf": round(c["processing_s"] / c["audio_s"], 3), "clips": c["clips"], "nothing_recognised": c["empty"]}
        for (model, condition), c in cells.items()
    ]
    return {
        "table": table,
        "voices": list(SPEECH_VOICES[:n_voices]),
        "sentences": list(SPEECH_SENTENCES[:n_sentences]),
        "cpu_threads": os.environ.get("ASR_CPU_THREADS", "0 (CTranslate2 default)"),
        "cores": os.cpu_count(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "rows": rows,
    }


def table_markdown(*, table: list[dict]) -> str:
    models = list(dict.fromkeys(r["model"] for r in table))
    conditions = list(dict.fromkeys(r["condition"] for r in table))
    cell = {(r["model"], r["condition"]): r for r in table}
    head = "| condition | " + " | ".join(f"{m} WER | {m} RTF" for m in models) + " |"
    rule = "|---|" + "---|---|" * len(models)
    lines = [head, rule]
    for condition in conditions:
        parts = []
        for m in models:
            r = cell.get((m, condition))
            parts.append(f"{r['wer']:.3f} | {r['rtf']:.2f}" if r else "– | –")
        lines.append(f"| {condition} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.asr_eval")
    parser.add_argument("--models", default="tiny.en,base", help="comma-separated names or paths")
    parser.add_argument("--conditions", default=DEFAULT_CONDITIONS, help="clean, COLOR@SNR (white/pink/brown)")
    parser.add_argument("--voices", type=int, default=6)
    parser.add_argument("--sentences", type=int, default=8)
    parser.add_argument("--json", help="write the full result (every clip) here")
    parser.add_argument("--audio-dir", help="keep the generated clips here (default: a temporary directory)")
    opts = parser.parse_args()
    repo = Path(__file__).resolve().parents[1]
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    os.environ.setdefault("VAR_DIR", str(repo / "var"))
    with tempfile.TemporaryDirectory(prefix="asr-eval-") as tmp:
        result = evaluate(
            models=[m for m in opts.models.split(",") if m],
            conditions=conditions_parse(spec=opts.conditions),
            n_voices=opts.voices,
            n_sentences=opts.sentences,
            out_dir=Path(opts.audio_dir) if opts.audio_dir else Path(tmp),
            progress=lambda r: print(f"{r['model']:8} {r['condition']:16} {r['voice']:18} "
                                     f"{r['edits']}/{r['words']}  {r['hypothesis']}", file=sys.stderr, flush=True),
        )
    if opts.json:
        Path(opts.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(table_markdown(table=result["table"]))
    print(f"\nvoices: {', '.join(result['voices'])}; {len(result['sentences'])} sentences; "
          f"{result['cores']} cores, load average at the end {result['load_avg']}")


if __name__ == "__main__":
    main()
