"""Hostile input, fuzzed with Hypothesis (property-based, bounded): scenario packs (YAML and its
bombs), `assess` JSONL, `import_users` CSV, websocket frames and voice uploads.

Property everywhere: a clear error or a correct result; never a 500 or an unhandled exception,
never a partial write, never a hang (each example runs under a time bound)."""

from __future__ import annotations

import contextlib
import json
import os
import time

import pytest
import yaml
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feedback.models import Exemplar, Framework
from simulations.models import Persona, Scenario, Turn, VoiceClip
from simulations.services.packs import pack_import
from trainer_app.models import Cohort
from trainer_app.services import users_import_csv

FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
EXAMPLE_TIME_BOUND_S = 10.0

# --- scenario packs -------------------------------------------------------------------------

PACK_WORDS = ["version", "personas", "scenarios", "frameworks", "slug", "kind", "name", "summary", "facts", "level",
              "text", "script", "topic", "prompts", "replies", "cognitive_model", "core_beliefs", "persona",
              "frameworks", "skills", "labels", "exemplars", "modes", "difficulty", "cbt-patient", "mi-client",
              "skill-rubric", "surface", "core_beliefs", "opening_line", "brief"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=60), st.sampled_from(PACK_WORDS))
pack_like = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=5),
                               st.dictionaries(st.one_of(st.sampled_from(PACK_WORDS), st.text(max_size=12)), children,
                                               max_size=6)),
    max_leaves=40,
)


def _bomb(depth: int, width: int) -> str:
    """The 'billion laughs' shape: each anchor aliases the previous one `width` times."""
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, depth):
        lines.append(f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(width))}]")
    lines.append(f"version: 1\npersonas: *a{depth - 1}")
    return "\n".join(lines)


pack_texts = st.one_of(
    st.builds(lambda d: yaml.safe_dump(d, allow_unicode=True), pack_like),
    st.builds(lambda d: yaml.safe_dump({"version": 1, **d} if isinstance(d, dict) else d), pack_like),
    st.text(max_size=400),
    st.binary(max_size=400),
    st.builds(_bomb, st.integers(2, 9), st.integers(2, 10)),
    st.builds(lambda n: "[" * n + "]" * n, st.integers(1, 5000)),  # deep nesting
    st.builds(lambda n: "version: 1\npersonas:\n" + "  - slug: x\n" * n, st.integers(1, 300)),
)


def _content_counts():
    return (Persona.objects.count(), Scenario.objects.count(), Framework.objects.count(), Exemplar.objects.count())


@pytest.mark.django_db
@FUZZ
@given(content=pack_texts)
def test_any_pack_gets_a_clear_result_and_a_bad_one_writes_nothing(content):
    before = _content_counts()
    started = time.monotonic()
    result = pack_import(content=content, update=False)
    assert time.monotonic() - started < EXAMPLE_TIME_BOUND_S
    if result.ok:
        return
    assert result.errors and all(str(e).strip() for e in result.errors), result
    assert _content_counts() == before


# --- assess JSONL -------------------------------------------------------------------------------

json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40)),
                           lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=10), c, max_size=4)),
                           max_leaves=12)
assess_lines = st.one_of(
    st.builds(json.dumps, st.fixed_dictionaries({"id": json_values, "utterance": st.text(min_size=1, max_size=200)},
                                                optional={"context": json_values})),
    st.builds(json.dumps, json_values),
    st.text(max_size=200).map(lambda s: s.replace("\n", " ").replace("\r", " ")),
)


@pytest.mark.django_db
@FUZZ
@given(lines=st.lists(assess_lines, min_size=1, max_size=6))
def test_assess_jsonl_answers_every_good_line_and_names_every_bad_one(lines, tmp_path_factory):
    from feedback.management.commands.assess import assessment_line_parse

    folder = tmp_path_factory.mktemp("assess")
    source, out = folder / "in.jsonl", folder / "out.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    good = []
    for raw in lines:
        with contextlib.suppress(ValueError):
            good.append(assessment_line_parse(raw=raw))
    bad = len([raw for raw in lines if raw.strip()]) - len(good)
    try:
        call_command("assess", "--framework", "dear-man", "--input", str(source), "--output", str(out))
        assert bad == 0
    except CommandError as exc:
        assert bad > 0 and f"{bad} bad line" in str(exc)
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    assert len(written) == len(good)  # one answer per good line, in order
    assert [w.get("id") for w in written] == [g["id"] for g in good]


# --- import_users CSV -------------------------------------------------------------------------

csv_cells = st.one_of(st.text(max_size=20), st.sampled_from(["trainee", "instructor", "admin", "", "Trainee", "boss"]))
csv_rows = st.lists(st.lists(csv_cells, min_size=0, max_size=6), max_size=8)
csv_headers = st.one_of(st.just(["username", "email", "role", "cohort", "password"]),
                        st.lists(st.sampled_from(["username", "email", "role", "cohort", "password", "x"]), max_size=6))


def _csv(header, rows) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.mark.django_db
@FUZZ
@given(text=st.one_of(st.builds(_csv, csv_headers, csv_rows), st.text(max_size=300)))
def test_import_users_is_all_or_nothing(text):
    users, cohorts = get_user_model().objects.count(), Cohort.objects.count()
    result = users_import_csv(text=text)
    if result.errors:
        assert all(str(e).startswith("line ") for e in result.errors), result.errors
        assert (get_user_model().objects.count(), Cohort.objects.count()) == (users, cohorts)
    else:
        assert get_user_model().objects.count() == users + result.created_users


# --- websocket frames ----------------------------------------------------------------------------

frames = st.one_of(
    st.text(min_size=1, max_size=300),
    st.builds(json.dumps, json_values),
    st.builds(json.dumps, st.fixed_dictionaries({"type": st.one_of(st.sampled_from(["turn", "retry", "push", "ping"]),
                                                                   json_values)},
                                                optional={"text": json_values, "client_id": json_values})),
    st.builds(lambda n: json.dumps({"type": "turn", "text": "x" * n, "client_id": "big"}), st.integers(5000, 200_000)),
    st.binary(min_size=1, max_size=200),
)


@pytest.mark.django_db(transaction=True)
@settings(max_examples=int(os.environ.get("FUZZ_WS_EXAMPLES", "10")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(frames, min_size=1, max_size=15))
def test_hostile_websocket_frames_get_errors_and_store_nothing(batch, ws_world):
    from tests.security.test_websockets import _communicator

    session = ws_world["session"]
    before = Turn.objects.filter(session=session).count()

    async def run() -> list[dict]:
        communicator = await _communicator(f"/ws/practice/{session.pk}/", ws_world["trainee"])
        assert (await communicator.connect())[0]
        answers = []
        for frame in batch:
            if isinstance(frame, bytes):
                await communicator.send_to(bytes_data=frame)
            else:
                await communicator.send_to(text_data=frame)
            while not await communicator.receive_nothing(timeout=0.05):
                output = await communicator.receive_output(timeout=1)
                if output["type"] == "websocket.close":
                    return answers + [{"closed": output.get("code")}]
                answers.append(json.loads(output.get("text") or "{}"))
        await communicator.disconnect()
        return answers

    started = time.monotonic()
    answers = async_to_sync(run)()
    assert time.monotonic() - started < 60
    # Nothing in the batch is a valid turn unless it is one: count the valid ones.
    valid = 0
    for frame in batch:
        try:
            data = json.loads(frame) if isinstance(frame, str) else None
        except ValueError:
            data = None
        if (isinstance(data, dict) and data.get("type") == "turn" and isinstance(data.get("text"), str)
                and data["text"].strip() and len(data["text"]) <= 2000):
            valid += 1
    stored = Turn.objects.filter(session=session, speaker="trainee").count() - (before - 1 if before else 0)
    assert stored <= valid
    for answer in answers:
        if answer.get("type") == "error":
            assert answer.get("message"), answer


@pytest.fixture
def ws_world(transactional_db, settings, tmp_path, monkeypatch):
    from tests.security.conftest import world_make

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr("simulations.consumers.warm_up_in_background", lambda: None, raising=False)
    monkeypatch.setattr("simulations.services.turns.chat_rate_limit_hit", lambda **k: False, raising=False)
    return world_make()


# --- voice uploads -------------------------------------------------------------------------------

upload_types = st.one_of(st.sampled_from(["audio/webm;codecs=opus", "audio/ogg", "audio/wav", "audio/mp4", "video/webm",
                                          "text/plain", "application/octet-stream", ""]), st.text(max_size=80))
upload_bodies = st.one_of(st.binary(max_size=4000), st.just(b""), st.builds(lambda b: b"\x1a\x45\xdf\xa3" + b, st.binary(max_size=2000)),
                          st.builds(lambda b: b"RIFF\x24\x00\x00\x00WAVEfmt " + b, st.binary(max_size=2000)))


@pytest.mark.django_db
@FUZZ
@given(body=upload_bodies, mime=upload_types, name=st.text(max_size=300), client_id=st.text(max_size=100))
@example(body=b"", mime="audio/webm;codecs=opus", name="/", client_id="")  # found by Hypothesis
def test_hostile_voice_uploads_get_a_clear_answer_and_no_partial_clip(body, mime, name, client_id, upload_world):
    session, trainee = upload_world["session"], upload_world["trainee"]
    client = Client()
    client.force_login(trainee)
    clips = VoiceClip.objects.count()
    # The file name as Django's multipart parser would hand it over (its last path element); names
    # with none ("/", "..") cannot be built into an upload here at all (Hypothesis found "/").
    base = os.path.basename(name)
    upload = SimpleUploadedFile(base if base not in ("", ".", "..") else "x", body,
                                content_type=mime or "application/octet-stream")
    response = client.post(reverse("simulations:session_voice", args=[session.pk]), {"audio": upload, "client_id": client_id})
    assert response.status_code < 500
    if response.status_code >= 400:
        assert response.content.strip()  # a message, not an empty refusal
        assert VoiceClip.objects.count() == clips
    else:
        assert response.status_code in (200, 202)


@pytest.fixture
def upload_world(db, settings, tmp_path, monkeypatch):
    from django.core.cache import cache

    from tests.security.conftest import world_make
    from trainer_app.privacy.consent import consent_give

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr("simulations.views.sessions.chat_rate_limit_hit", lambda **k: False)
    cache.clear()
    world = world_make()
    consent_give(user=world["trainee"], kind="voice_turns")
    return world
