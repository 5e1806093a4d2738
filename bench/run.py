"""Run one figure in this process (each figure needs its own VAR_DIR before django.setup()).

    python -m bench.run NAME OUT.json [key=value ...]"""

from __future__ import annotations

import json
import sys
import traceback


def main() -> None:
    name, out = sys.argv[1], sys.argv[2]
    kwargs = dict(a.split("=", 1) for a in sys.argv[3:])
    try:
        if name == "scripted":
            from bench.scripted import run
        elif name == "llm":
            from bench.llm import run
        elif name == "asr":
            from bench.asr import run
        elif name == "asr_models":
            from bench.asr_models import run
        elif name == "capacity":
            from bench.capacity import run
        elif name == "feedback":
            from bench.feedback import run
        elif name == "cohort":
            from bench.cohort import run
        elif name == "recordings":
            from bench.recordings import run
        elif name == "recording_hallucinations":
            from bench.recording_hallucinations import run
        elif name == "diarize":
            from bench.diarize import run
        elif name == "prod_ws":
            from bench.prod_ws import run
        elif name == "web_rss":
            from bench.web_rss import run
        else:
            raise SystemExit(f"unknown figure {name}")
        result = run(**kwargs)
    except Exception:
        result = {"_error": {name: traceback.format_exc()[-4000:]}}
    with open(out, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
