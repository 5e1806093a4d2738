import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.support.speech import speech_silence, speech_synthesize, speech_tools_available, wer_compute
from tests.trainer_app.engines.speech.conftest import asr_settings

pytestmark = pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed")

REPO = Path(__file__).resolve().parents[4]
SENTENCE = "what would you like to talk about today"


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> Path:
    return speech_synthesize(text=SENTENCE, path=tmp_path_factory.mktemp("cmd") / "a.wav")


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("transcribe", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_has_segments_and_words_with_times(speech_wav):
    with asr_settings(ASR_MODEL="", ASR_RECORDING_MODEL=""):
        out, err = _run(str(speech_wav), "--model", "tiny.en", "--json")
    record = json.loads(out)
    assert record["file"] == str(speech_wav)
    assert record["backend"] == "faster-whisper (tiny.en, bundled)" and record["low_accuracy"] is False
    assert wer_compute(reference=SENTENCE, hypothesis=record["text"]) <= 0.1
    words = [w for seg in record["segments"] for w in seg["words"]]
    assert [w["text"].lower().strip("?.") for w in words] == SENTENCE.split()
    assert all(seg["start"] <= w["start"] <= w["end"] <= seg["end"] for seg in record["segments"] for w in seg["words"])
    assert 0 < record["speech_s"] <= record["duration"]
    assert err.strip() == "asr: faster-whisper (tiny.en, bundled)"


def test_text_output_by_default_uses_the_recording_recognizer(speech_wav):
    with asr_settings(ASR_MODEL="", ASR_RECORDING_MODEL=""):
        out, err = _run(str(speech_wav))
    header, segment, words = out.splitlines()[:3]
    assert header.startswith(f"{speech_wav}  (faster-whisper (base, bundled);")
    assert segment.lstrip().startswith("[") and "talk about today" in segment.lower()
    assert words.split()[0].startswith("What@")
    assert "ASR_RECORDING_MODEL not set" in err


def test_a_batch_goes_on_past_a_bad_file_and_exits_non_zero(speech_wav, tmp_path):
    silence = speech_silence(path=tmp_path / "b.wav", seconds=2)
    out_file = tmp_path / "out.jsonl"
    err = StringIO()
    with asr_settings(ASR_MODEL="pocketsphinx"), pytest.raises(CommandError, match="1 of 2 file"):
        call_command("transcribe", str(speech_wav), str(silence), "--model", "pocketsphinx", "--json",
                     "--output", str(out_file), stderr=err)
    first, second = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert first["text"] and first["low_accuracy"] is True
    assert second == {"file": str(silence), "error": second["error"], "error_type": "NoSpeechDetected"}
    assert f"{silence}: We couldn't hear any speech" in err.getvalue()


def _bad_inputs(tmp_path: Path, speech_wav: Path) -> dict[str, tuple[list[str], str]]:
    text = tmp_path / "notes.txt"
    text.write_text("not audio at all\n")
    fake_wav = tmp_path / "fake.wav"
    fake_wav.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + os.urandom(2000))
    dangling = tmp_path / "gone.wav"
    dangling.symlink_to(tmp_path / "deleted-meanwhile.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    return {
        "not audio (by name)": ([str(text)], "doesn't look like an audio file"),
        "not audio (by content)": ([str(fake_wav)], "couldn't read that audio file"),
        "empty": ([str(empty)], "The recording is empty"),
        "too long": ([str(speech_wav), "--max-seconds", "1"], "longer than the 1-second limit"),
        "too large": ([str(speech_wav), "--max-bytes", "1000"], "too large"),
        "missing": ([str(tmp_path / "nope.wav")], "file not found"),
        "a directory": ([str(tmp_path)], "is a directory"),
        "unreadable (dangling link)": ([str(dangling)], "cannot be read"),
        "unknown model": ([str(speech_wav), "--model", str(tmp_path / "no-model")], "failed to load"),
    }


@pytest.mark.parametrize(
    "case",
    ["not audio (by name)", "not audio (by content)", "empty", "too long", "too large", "missing", "a directory",
     "unreadable (dangling link)", "unknown model"],
)
def test_bad_input_is_one_line_on_stderr_and_a_non_zero_exit(case, tmp_path, speech_wav):
    args, expected = _bad_inputs(tmp_path, speech_wav)[case]
    proc = subprocess.run(
        [sys.executable, "manage.py", "transcribe", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_IGNORE_DOTENV": "1", "VAR_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"},
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0]
    assert proc.stdout == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_one_line_and_a_non_zero_exit(tmp_path, speech_wav):
    locked = tmp_path / "locked.wav"
    locked.write_bytes(speech_wav.read_bytes())
    locked.chmod(0)
    with pytest.raises(CommandError, match="cannot be read"):
        _run(str(locked))
