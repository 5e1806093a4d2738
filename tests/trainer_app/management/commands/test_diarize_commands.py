"""`diarize` and `evaluate_diarization`: output, RTTM, DER table, and one-line errors on bad input."""

from __future__ import annotations

import json
import signal

import pytest
from django.core.management import CommandError, call_command

from tests.support.diarization_clips import conversation_build, conversation_rttm
from tests.support.speech import speech_silence, speech_tools_available

pytestmark = pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed")


@pytest.fixture(autouse=True)
def _time_limit():
    def expire(signum, frame):
        raise TimeoutError("test exceeded its 300 s limit")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(300)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def _embedded(settings):
    settings.DIARIZATION_PIPELINE = ""


@pytest.fixture(scope="module")
def conversation(tmp_path_factory):
    return conversation_build(path=tmp_path_factory.mktemp("conv") / "talk.wav")


def test_diarize_prints_turns_and_writes_rttm(conversation, tmp_path, capsys):
    rttm = tmp_path / "out.rttm"
    call_command("diarize", str(conversation.path), "--rttm", str(rttm), "--num-speakers", "2")
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[2] for line in lines] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00", "SPEAKER_01"]
    rows = [line.split() for line in rttm.read_text().splitlines()]
    assert all(r[0] == "SPEAKER" and r[1] == "talk" and r[7].startswith("SPEAKER_") for r in rows)
    assert len(rows) == 4


def test_diarize_json(conversation, capsys):
    call_command("diarize", str(conversation.path), "--json", "--max-speakers", "1")
    data = json.loads(capsys.readouterr().out)
    assert data["speakers"] == ["SPEAKER_00"] and data["backend"].startswith("embedded")
    assert any("overlapped speech" in note for note in data["notes"])


def test_evaluate_diarization_reports_der_with_components(conversation, tmp_path, capsys):
    reference = tmp_path / "ref.rttm"
    reference.write_text(conversation_rttm(conversation=conversation, uri="talk"))
    call_command("evaluate_diarization", "--reference", str(reference), "--audio", str(conversation.path.parent), "--json")
    data = json.loads(capsys.readouterr().out)
    (row,) = data["files"]
    assert row["uri"] == "talk" and row["der"] < 0.15
    assert {"missed_s", "false_alarm_s", "confusion_s", "reference_speech_s"} <= set(row)
    assert data["overall"]["der"] == pytest.approx(row["der"], abs=1e-3)
    call_command("evaluate_diarization", "--reference", str(reference), "--audio", str(conversation.path.parent))
    table = capsys.readouterr().out
    assert "missed s" in table and "TOTAL" in table and "mean of per-file DER" in table


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["missing.wav"], "file not found"),
        ("text", ["notes.wav"], "couldn't read that audio"),
        ("empty", ["empty.wav"], "empty"),
        ("silence", ["silence.wav", "--max-seconds", "1"], "longer than"),
        ("silence", ["silence.wav", "--min-speakers", "3", "--max-speakers", "2"], "larger than max_speakers"),
        ("silence", ["silence.wav", "--rttm", "/no/such/dir/out.rttm"], "does not exist"),
    ],
)
def test_diarize_bad_input_is_a_one_line_error(tmp_path, setup, args, message):
    if setup == "text":
        (tmp_path / "notes.wav").write_text("these are not audio samples\n" * 20)
    elif setup == "empty":
        (tmp_path / "empty.wav").write_bytes(b"")
    elif setup == "silence":
        speech_silence(path=tmp_path / "silence.wav", seconds=2)
    args = [str(tmp_path / args[0]), *args[1:]]
    with pytest.raises(CommandError) as excinfo:
        call_command("diarize", *args)
    text = str(excinfo.value)
    assert message.lower() in text.lower() and "\n" not in text


def test_diarize_rejects_a_zero_speaker_count(tmp_path):
    speech_silence(path=tmp_path / "s.wav", seconds=1)
    with pytest.raises(CommandError, match="must be at least 1"):
        call_command("diarize", str(tmp_path / "s.wav"), "--num-speakers", "0")


def test_diarize_exits_non_zero_from_the_shell(tmp_path):
    import subprocess
    import sys

    (tmp_path / "bad.wav").write_text("not audio")
    proc = subprocess.run([sys.executable, "manage.py", "diarize", str(tmp_path / "bad.wav")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].startswith("CommandError:")


@pytest.mark.parametrize(
    ("rttm", "audio", "message"),
    [
        ("missing", "dir", "is not a file"),
        ("garbage", "dir", "no SPEAKER lines"),
        ("badnum", "dir", "must be numbers"),
        ("ok", "missing", "is not a directory"),
        ("ok", "empty", "no audio file"),
    ],
)
def test_evaluate_diarization_bad_input_is_a_one_line_error(tmp_path, rttm, audio, message):
    reference = tmp_path / "ref.rttm"
    contents = {"garbage": "hello\n", "badnum": "SPEAKER x 1 a b <NA> <NA> s <NA> <NA>\n",
                "ok": "SPEAKER x 1 0.0 1.0 <NA> <NA> s <NA> <NA>\n"}  # fmt: skip
    if rttm in contents:
        reference.write_text(contents[rttm])
    audio_dir = tmp_path / "audio"
    if audio in ("dir", "empty"):
        audio_dir.mkdir()
    with pytest.raises(CommandError) as excinfo:
        call_command("evaluate_diarization", "--reference", str(reference), "--audio", str(audio_dir))
    assert message in str(excinfo.value) and "\n" not in str(excinfo.value)
