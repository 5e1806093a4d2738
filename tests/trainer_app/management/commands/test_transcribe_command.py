import json

import pytest
from django.core.management import CommandError, call_command

from tests.support.speech import speech_silence, speech_synthesize, speech_tools_available
from tests.trainer_app.engines.speech.conftest import asr_settings

pytestmark = pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed")


def test_transcribe_writes_one_jsonl_line_per_file(tmp_path):
    speech = speech_synthesize(text="what would you like to talk about today", path=tmp_path / "a.wav")
    silence = speech_silence(path=tmp_path / "b.wav", seconds=2)
    out = tmp_path / "out.jsonl"
    with asr_settings(ASR_MODEL=""):
        call_command("transcribe", str(speech), str(silence), "--output", str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["file"] for line in lines] == [str(speech), str(silence)]
    first, second = lines
    assert first["text"] and first["backend"].startswith("pocketsphinx") and first["low_accuracy"] is True
    assert abs(first["duration"] - 0.6 - first["segments"][-1]["end"]) < 1.5
    assert all({"start", "end", "text"} <= set(seg) for seg in first["segments"])
    assert second["error_type"] == "NoSpeechDetected"


def test_transcribe_fails_when_no_file_could_be_transcribed(tmp_path):
    with pytest.raises(CommandError):
        call_command("transcribe", str(tmp_path / "missing.wav"), "--output", str(tmp_path / "o.jsonl"))
