"""assess / evaluate_assessment / train_mi_coder management commands, on a freshly migrated, empty database."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ANNOMI = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "annomi" / "annomi_full_dev.csv"
needs_annomi = pytest.mark.skipif(not ANNOMI.exists(), reason=f"AnnoMI development data not found at {ANNOMI}")

ANNOMI_COLUMNS = [
    "transcript_id", "utterance_id", "interlocutor", "utterance_text", "annotator_id", "main_therapist_behaviour",
    "reflection_subtype", "question_subtype", "therapist_input_subtype", "client_talk_type",
]  # fmt: skip


def _run(name: str, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_assess_round_trip_reports_bad_lines_by_number(tmp_path):
    lines = [
        {
            "id": "a",
            "context": [{"speaker": "client", "text": "I smoke when I'm stressed."}],
            "utterance": "Do you smoke every day?",
        },
        "{not json",
        {"id": "b", "context": [], "utterance": "What brings you in today?"},
        {"id": "c", "context": [{"speaker": "client", "text": "hi"}]},  # no utterance
        {"id": "d", "context": "not a list", "utterance": "Okay."},
        {"id": "e", "context": [{"speaker": "Jo", "text": "I lost my job."}], "utterance": "You lost your job."},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    target = tmp_path / "out.jsonl"
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 bad line"):
        call_command("assess", "--framework", "mi", "--input", str(source), "--output", str(target), stderr=err)
    messages = err.getvalue()
    assert "line 2:" in messages and "line 4:" in messages and "line 5:" in messages
    assert "line 1:" not in messages and "line 3:" not in messages
    written = [json.loads(line) for line in target.read_text().splitlines()]
    assert [row["id"] for row in written] == ["a", "b", "e"]
    for row in written:
        assert set(row["labels"]) == {"behaviour", "reflection", "question", "input"}
        assert row["labels"]["behaviour"] in ("reflection", "question", "therapist_input", "other")
        assert row["feedback"]
    assert written[0]["labels"]["behaviour"] == "question"
    assert written[1]["labels"]["question"] == "open"


@pytest.mark.django_db
def test_assess_clean_file_exits_zero_and_unknown_framework_fails(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": 1, "context": [], "utterance": "Thank you for coming in today."}) + "\n")
    target = tmp_path / "out.jsonl"
    _, err = _run("assess", "--framework", "mi", "--input", str(source), "--output", str(target))
    assert "0 bad line" in err
    assert json.loads(target.read_text())["id"] == 1
    with pytest.raises(CommandError, match="not found"):
        _run("assess", "--framework", "no-such-framework", "--input", str(source), "--output", str(target))


def _write_annomi(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ANNOMI_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.django_db
def test_evaluate_assessment_on_a_small_handmade_csv(tmp_path):
    def row(i, who, text, behaviour="n/a", refl="n/a", q="n/a", inp="n/a"):
        return {
            "transcript_id": "1", "utterance_id": str(i), "interlocutor": who, "utterance_text": text,
            "annotator_id": "1", "main_therapist_behaviour": behaviour, "reflection_subtype": refl,
            "question_subtype": q, "therapist_input_subtype": inp, "client_talk_type": "neutral" if who == "client" else "n/a",
        }  # fmt: skip

    rows = [
        row(0, "therapist", "Hi, thanks for coming in. What would you like to talk about today?", "question", q="open"),
        row(1, "client", "My doctor says I drink too much, I've been drinking more since I lost my job."),
        row(2, "therapist", "You've been drinking more since you lost your job.", "reflection", refl="simple"),
        row(3, "client", "Yeah."),
        row(4, "therapist", "Do you drink every day?", "question", q="closed"),
        row(5, "client", "Most days."),
        row(6, "therapist", "You should cut down to two drinks a day.", "therapist_input", inp="advice"),
    ]
    path = tmp_path / "small.csv"
    _write_annomi(path, rows)
    out, _ = _run("evaluate_assessment", "--framework", "mi", "--labelled", str(path))
    report = json.loads(out)
    assert report["n"] == 4  # therapist rows only
    for key in ("accuracy", "macro_f1", "kappa", "per_class", "confusion_matrix"):
        assert key in report
    matrix = report["confusion_matrix"]["rows_gold_columns_predicted"]
    assert sum(map(sum, matrix)) == 4
    assert report["accuracy"] == pytest.approx(sum(matrix[i][i] for i in range(len(matrix))) / 4)
    assert report["accuracy"] >= 0.75
    assert set(report["per_class"]) == {"reflection", "question", "therapist_input", "other"}
    assert "question" in report["families"]
    assert report["annotator_agreement"] is None  # one annotator per utterance here


def test_annotator_agreement_on_a_handmade_csv(tmp_path):
    from feedback.engines.behaviour_coding.agreement import annotator_agreement

    # Three annotators code the same four therapist utterances; C disagrees with A and B once (utterance 3).
    codes = {
        "A": ["question", "reflection", "question", "other"],
        "B": ["question", "reflection", "question", "other"],
        "C": ["question", "reflection", "therapist_input", "other"],
    }
    rows = [
        {"transcript_id": "7", "utterance_id": str(i), "interlocutor": "therapist", "utterance_text": f"turn {i}",
         "annotator_id": annotator, "main_therapist_behaviour": behaviour}
        for annotator, behaviours in codes.items() for i, behaviour in enumerate(behaviours)
    ] + [
        {"transcript_id": "8", "utterance_id": "0", "interlocutor": "therapist", "utterance_text": "only one coder",
         "annotator_id": "A", "main_therapist_behaviour": "question"},
        {"transcript_id": "7", "utterance_id": "9", "interlocutor": "client", "utterance_text": "client turn",
         "annotator_id": "A", "main_therapist_behaviour": "n/a"},
    ]  # fmt: skip
    path = tmp_path / "agreement.csv"
    _write_annomi(path, rows)
    report = annotator_agreement(path=path, min_shared=4)
    assert (report["utterances"], report["transcripts"], report["annotators"]) == (4, 1, 3)
    assert report["pairwise"]["pairs"] == 3
    # A-B agree fully (accuracy 1); A-C and B-C agree on 3 of 4.
    assert report["pairwise"]["accuracy_mean"] == pytest.approx((1 + 0.75 + 0.75) / 3, abs=1e-4)
    against = report["against_majority_of_others"]
    assert against["n"] == 12 and against["accuracy"] == pytest.approx(11 / 12, abs=1e-4)
    assert annotator_agreement(path=path, min_shared=5)["pairwise"]["pairs"] == 0
    single = tmp_path / "single.csv"
    _write_annomi(single, rows[-2:])
    assert annotator_agreement(path=single) is None  # nobody coded an utterance twice


@needs_annomi
@pytest.mark.django_db
def test_evaluate_assessment_on_real_transcripts_and_jsonl(tmp_path):
    with ANNOMI.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    wanted = sorted({row["transcript_id"] for row in rows}, key=int)[-3:]
    subset = tmp_path / "subset.csv"
    with subset.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(row for row in rows if row["transcript_id"] in wanted)
    report = json.loads(_run("evaluate_assessment", "--framework", "mi", "--labelled", str(subset))[0])
    assert report["n"] > 20
    assert 0.5 <= report["accuracy"] <= 1.0  # these transcripts were in training: a sanity floor, not a CV figure

    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "id": "q",
                        "context": [],
                        "utterance": "How do you feel about your drinking?",
                        "labels": {"behaviour": "question", "question": "open"},
                    }
                ),
                "[1, 2]",
                json.dumps(
                    {
                        "id": "i",
                        "context": [],
                        "utterance": "Drinking more than 14 units a week raises your risk of liver disease.",
                        "labels": {"behaviour": "therapist_input", "input": "information"},
                    }
                ),
            ]
        )
        + "\n"
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 bad line"):
        call_command("evaluate_assessment", "--framework", "mi", "--labelled", str(gold), stdout=out, stderr=err)
    assert "line 2:" in err.getvalue()
    report = json.loads(out.getvalue())
    assert report["n"] == 2 and report["skipped_lines"] == 1


@needs_annomi
@pytest.mark.slow
def test_train_mi_coder_writes_artifacts_with_provenance(tmp_path):
    with ANNOMI.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    wanted = sorted({row["transcript_id"] for row in rows}, key=int)[:6]
    subset = tmp_path / "subset.csv"
    with subset.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(row for row in rows if row["transcript_id"] in wanted)
    output = tmp_path / "coder.npz"
    # --folds 0: no CV, so nothing to gate on and the fine-tuned file is written (a few steps only).
    out, _ = _run(
        "train_mi_coder", "--data", str(subset), "--output", str(output), "--folds", "0",
        "--finetune-epochs", "1", "--finetune-max-steps", "3",
    )  # fmt: skip
    summary = json.loads(out)
    card = json.loads(output.with_suffix(".json").read_text())
    assert len(card["data"]["sha256"]) == 64 and len(card["code_version_sha256"]) == 64
    assert "--finetune-epochs 1" in card["command"]
    assert card["finetuned"]["shipped"] is True and card["finetuned"]["members"][0]["seed"] == 13
    tuned = tmp_path / "coder_finetuned.safetensors"
    assert summary["finetuned_file"] == str(tuned) and tuned.exists()

    from feedback.engines.behaviour_coding import BehaviourCoder

    coder = BehaviourCoder(artifact=output)
    assert coder.finetuned is not None
    result = coder.assess(utterance="What brings you here today?", context=[])
    assert result.labels["behaviour"] in {"reflection", "question", "therapist_input", "other"}

    # Retraining without fine-tuning removes the stale fine-tuned file: it belongs to the old LR models.
    _run("train_mi_coder", "--data", str(subset), "--output", str(output), "--folds", "0", "--finetune-epochs", "0")
    assert not tuned.exists()


@needs_annomi
@pytest.mark.slow
def test_cross_validation_reads_unchanged_members_from_the_cache(tmp_path, monkeypatch):
    import numpy as np

    from feedback.engines.behaviour_coding import training
    from feedback.engines.behaviour_coding.annomi import annomi_utterances_load
    from feedback.engines.behaviour_coding.cv_cache import MemberCache
    from feedback.engines.behaviour_coding.finetune import FinetuneConfig

    examples = [e for e in annomi_utterances_load(path=ANNOMI) if e.group in {"0", "1", "2", "3"}]
    rng = np.random.default_rng(0)
    table = {}

    def vector_of(text):  # stand-in sentence vectors: this test is about the fine-tuned members
        return table.setdefault(text, rng.normal(size=384).astype(np.float32)) if text else np.zeros(384)

    cache = MemberCache(directory=tmp_path / "cv", data_sha256="d" * 64)
    members = [FinetuneConfig(batch_size=16), FinetuneConfig(batch_size=16, seed=17, trainee_words=10)]
    kwargs = {
        "examples": examples, "vector_of": vector_of, "folds": 2, "finetune_configs": members,
        "finetune_max_steps": 2, "member_cache": cache,
    }  # fmt: skip
    first = training.coder_cross_validate(**kwargs)
    assert len(list((tmp_path / "cv").glob("member-*.npz"))) == 2
    assert {"finetuned_member_0", "finetuned_member_1", "finetuned", "finetuned_blend"} <= set(first)

    def refuse(**_):
        raise AssertionError("a cached member was fine-tuned again")

    monkeypatch.setattr("feedback.engines.behaviour_coding.finetune.finetune_train", refuse)
    again = training.coder_cross_validate(**kwargs)
    assert again["finetuned"] == first["finetuned"] and again["finetuned_blend"] == first["finetuned_blend"]
    # Another step limit is another key: that member is not in the cache.
    with pytest.raises(AssertionError, match="fine-tuned again"):
        training.coder_cross_validate(**(kwargs | {"finetune_max_steps": 3}))
    # A corrupt cache file is recomputed, not trusted.
    for path in (tmp_path / "cv").glob("member-*.npz"):
        path.write_bytes(b"not a numpy file")
    with pytest.raises(AssertionError, match="fine-tuned again"):
        training.coder_cross_validate(**kwargs)


DEAR_MAN_DEV = Path(__file__).resolve().parents[2] / "feedback" / "engines" / "data" / "dear_man_dev.jsonl"


@pytest.mark.django_db
def test_evaluate_assessment_reports_presence_and_leave_one_situation_out(tmp_path):
    """Skill rubrics: presence (strong/weak vs absent) and exact agreement per skill, pooled over situations held out."""
    lines = [json.loads(line) for line in DEAR_MAN_DEV.read_text().splitlines()]
    chosen = [line for line in lines if line["situation"] == "gym-cancel"][:6] + [
        line for line in lines if line["situation"] == "friend-late"][:6]
    assert len({line["situation"] for line in chosen}) == 2
    path = tmp_path / "dev.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in chosen))
    plain = json.loads(_run("evaluate_assessment", "--framework", "dear-man", "--labelled", str(path))[0])
    assert set(plain["skills"]) == {"describe", "express", "assert", "reinforce", "mindful", "appear-confident", "negotiate"}
    for figures in plain["skills"].values():
        assert figures["n"] == len(chosen)
        assert 0.0 <= figures["presence"]["macro_f1"] <= 1.0 and figures["exact_agreement"] == figures["accuracy"]
        assert figures["presence"]["confusion_matrix"]["labels"] == ["present", "absent"]
    assert set(plain["summary"]) == {"presence_macro_f1", "presence_f1_present_macro", "min_presence_f1_present", "exact_agreement"}
    loso = json.loads(_run(
        "evaluate_assessment", "--framework", "dear-man", "--labelled", str(path), "--leave-one-out-by", "situation",
    )[0])
    assert loso["leave_one_out_by"] == "situation" and loso["groups"] == 2
    assert all(figures["n"] == len(chosen) for figures in loso["skills"].values())
    # A line without the grouping field is reported and skipped, not guessed.
    del chosen[0]["situation"]
    path.write_text("".join(json.dumps(line) + "\n" for line in chosen))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 bad line"):
        call_command("evaluate_assessment", "--framework", "dear-man", "--labelled", str(path),
                     "--leave-one-out-by", "situation", stdout=io.StringIO(), stderr=err)
    assert 'no "situation" to group by' in err.getvalue()
    with pytest.raises(CommandError, match="skill-rubric"):
        _run("evaluate_assessment", "--framework", "mi", "--labelled", str(path), "--leave-one-out-by", "situation")
