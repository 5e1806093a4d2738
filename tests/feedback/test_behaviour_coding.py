"""The offline MI behaviour coder: shipped artifact, training on a transcript split, MITI summary, rewrites."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from feedback.engines.behaviour_coding import BehaviourCoder, miti_summary
from feedback.engines.behaviour_coding.encoding import coding_input_build
from feedback.engines.behaviour_coding.finetune import SUBTYPE_HEADS
from feedback.engines.behaviour_coding.model import DEFAULT_ARTIFACT, coder_model_load, coder_model_save
from feedback.engines.behaviour_coding.suggestions import open_question_rewrite, reflection_rewrite, second_person
from feedback.engines.types import UtteranceAssessment

ANNOMI = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "annomi" / "annomi_full_dev.csv"
needs_annomi = pytest.mark.skipif(not ANNOMI.exists(), reason=f"AnnoMI development data not found at {ANNOMI}")


@pytest.fixture(scope="module")
def coder() -> BehaviourCoder:
    return BehaviourCoder()


# -- the shipped artifact ---------------------------------------------------


def test_shipped_artifact_is_small_and_has_provenance():
    assert DEFAULT_ARTIFACT.exists(), (
        "run: python manage.py train_mi_coder --data ../shared/data/annomi/annomi_full_dev.csv"
    )
    assert DEFAULT_ARTIFACT.stat().st_size < 5 * 1024 * 1024
    card = json.loads(DEFAULT_ARTIFACT.with_suffix(".json").read_text())
    assert len(card["data"]["sha256"]) == 64
    assert card["command"].startswith("python manage.py train_mi_coder")
    assert len(card["code_version_sha256"]) == 64
    cv = card["cross_validation"]
    # The shipped model must beat the plain embedding baseline measured in the same run.
    assert cv["blend"]["macro_f1"] > cv["baseline"]["macro_f1"]
    assert cv["blend"]["kappa"] > cv["baseline"]["kappa"]


def test_artifact_round_trips_without_pickle(tmp_path):
    model = coder_model_load()
    path = coder_model_save(model=model, path=tmp_path / "copy.npz")
    again = coder_model_load(path=path)
    assert again.word_vocabulary == model.word_vocabulary
    np.testing.assert_array_equal(again.dense.coef, model.dense.coef)
    with np.load(path, allow_pickle=False) as arrays:  # raises if anything needed pickle
        assert "dense__coef" in arrays.files


@pytest.mark.parametrize(
    ("client", "utterance", "behaviour", "family", "subtype"),
    [
        (
            "I don't know, things have been hard lately.",
            "What would you like to talk about today?",
            "question",
            "question",
            "open",
        ),
        ("I smoke when I'm stressed.", "Do you smoke every day?", "question", "question", "closed"),
        (
            "I've been drinking a lot more since I lost my job.",
            "You've been drinking more since you lost your job.",
            "reflection",
            "reflection",
            "simple",
        ),
        (
            "I guess I could cut down a bit.",
            "You should stop drinking completely and join a support group.",
            "therapist_input",
            "input",
            "advice",
        ),
    ],
)
def test_shipped_model_codes_obvious_examples(coder, client, utterance, behaviour, family, subtype):
    result = coder.assess(utterance=utterance, context=[{"speaker": "client", "text": client}])
    assert isinstance(result, UtteranceAssessment)
    assert result.kind == "behaviour-coding"
    assert result.labels["behaviour"] == behaviour, result.labels
    assert result.labels[family] == subtype, result.labels
    assert {item.skill for item in result.items} == {"behaviour", family}
    assert all(0.0 <= item.confidence <= 1.0 for item in result.items)
    assert result.feedback and result.items[-1].suggestion


def test_only_the_coded_family_gets_a_subtype(coder):
    result = coder.assess(utterance="Do you smoke every day?", context=[])
    assert result.labels["question"] in ("open", "closed")
    assert result.labels["reflection"] is None and result.labels["input"] is None


def test_closed_question_suggestion_rewrites_the_trainees_words(coder):
    result = coder.assess(
        utterance="Are you ready to quit smoking?", context=[{"speaker": "Sam", "text": "My wife keeps nagging me."}]
    )
    assert result.labels == {"behaviour": "question", "reflection": None, "question": "closed", "input": None}
    assert "How ready are you to quit smoking?" in result.items[-1].suggestion


def test_non_trainee_speaker_names_count_as_client(coder):
    named = coder.assess(utterance="So you feel stuck.", context=[{"speaker": "Sam", "text": "I feel stuck at work."}])
    plain = coder.assess(
        utterance="So you feel stuck.", context=[{"speaker": "client", "text": "I feel stuck at work."}]
    )
    assert named.labels == plain.labels
    assert named.items[0].confidence == plain.items[0].confidence


# -- training on a transcript-grouped split of the real data -----------------


@needs_annomi
@pytest.mark.slow
def test_training_generalises_to_unseen_transcripts(tmp_path):
    from feedback.engines.behaviour_coding.annomi import annomi_utterances_load
    from feedback.engines.behaviour_coding.metrics import classification_metrics
    from feedback.engines.behaviour_coding.training import coder_texts, coder_train, embedding_lookup_build

    examples = annomi_utterances_load(path=ANNOMI)
    transcripts = sorted({example.group for example in examples})
    rng = np.random.default_rng(7)
    chosen = rng.permutation(transcripts)[:36]  # a subset keeps the test near a minute
    train_ids, test_ids = set(chosen[:27]), set(chosen[27:])
    train = [example for example in examples if example.group in train_ids]
    test = [example for example in examples if example.group in test_ids]
    assert train_ids.isdisjoint(test_ids)

    model = coder_train(examples=train, vector_of=embedding_lookup_build(texts=coder_texts(examples=train)), card={})
    path = coder_model_save(model=model, path=tmp_path / "subset.npz")
    coder = BehaviourCoder(artifact=path)
    predicted = [
        result.labels["behaviour"] for result in coder.assess_many(items=[(e.utterance, e.context) for e in test])
    ]
    figures = classification_metrics(gold=[e.labels["behaviour"] for e in test], predicted=predicted)
    # Floors well under the full-data CV figures (macro-F1 ~0.75), far above chance (~0.25).
    assert figures["macro_f1"] >= 0.60, figures
    assert figures["kappa"] >= 0.55, figures


# -- MITI summary -----------------------------------------------------------


def test_miti_summary_compares_figures_with_targets():
    labels = (
        [{"behaviour": "reflection", "reflection": "complex"}] * 3
        + [{"behaviour": "reflection", "reflection": "simple"}]
        + [{"behaviour": "question", "question": "open"}]
        + [{"behaviour": "question", "question": "closed"}] * 3
        + [{"behaviour": "other"}]
    )
    summary = miti_summary(labels=labels)
    assert summary["counts"]["utterances"] == len(labels)
    assert summary["reflection_to_question_ratio"]["value"] == pytest.approx(4 / 4)
    assert summary["reflection_to_question_ratio"]["meets_target"]
    assert summary["percent_complex_reflections"]["value"] == pytest.approx(75.0)
    assert summary["percent_open_questions"]["value"] == pytest.approx(25.0)
    assert not summary["percent_open_questions"]["meets_target"]
    stricter = miti_summary(labels=labels, targets={"reflection_to_question_ratio": 2.0})
    assert not stricter["reflection_to_question_ratio"]["meets_target"]
    assert stricter["reflection_to_question_ratio"]["target"] == 2.0


def test_miti_summary_without_questions_or_reflections():
    only_reflections = miti_summary(labels=[{"behaviour": "reflection", "reflection": "simple"}])
    assert only_reflections["reflection_to_question_ratio"]["value"] is None
    assert only_reflections["reflection_to_question_ratio"]["meets_target"]
    assert only_reflections["percent_open_questions"]["value"] is None
    empty = miti_summary(labels=[])
    assert not empty["reflection_to_question_ratio"]["meets_target"]


# -- rewrites ---------------------------------------------------------------


def test_rewrites_reuse_the_speakers_words():
    assert open_question_rewrite(utterance="Okay. Do you want to cut down?") == "What makes you want to cut down?"
    assert open_question_rewrite(utterance="Is it hard to stop at two?") == "What makes it hard to stop at two?"
    assert open_question_rewrite(utterance="Lovely weather.") == ""
    assert second_person(text="I'm tired of my job") == "you're tired of your job"
    assert reflection_rewrite(client_text="Yeah. I was drinking every night after my shift.") == (
        "It sounds like you were drinking every night after your shift."
    )


# -- the fine-tuned MiniLM --------------------------------------------------


def test_shipped_artifacts_stay_small_and_pickle_free():
    from feedback.engines.behaviour_coding.model import ARTIFACT_DIR

    files = [path for path in ARTIFACT_DIR.iterdir() if path.is_file()]
    assert sum(path.stat().st_size for path in files) <= 100 * 1024 * 1024
    assert {path.suffix for path in files} <= {".npz", ".json", ".safetensors"}
    card = json.loads(DEFAULT_ARTIFACT.with_suffix(".json").read_text())
    finetuned = DEFAULT_ARTIFACT.with_name("mi_coder_finetuned.safetensors")
    if finetuned.exists():  # shipped only when it beat the LR blend on the same CV folds
        assert card["finetuned"]["shipped"] is True
        cv = card["cross_validation"]
        assert cv["finetuned_blend"]["macro_f1"] > cv["blend"]["macro_f1"]
        assert cv["finetuned_blend"]["kappa"] > cv["blend"]["kappa"]


def test_coder_falls_back_to_the_lr_blend_without_finetuned_weights(tmp_path):
    path = coder_model_save(model=coder_model_load(), path=tmp_path / "lr_only.npz")
    lr_only = BehaviourCoder(artifact=path)
    assert lr_only.finetuned is None
    result = lr_only.assess(utterance="Do you smoke every day?", context=[{"speaker": "client", "text": "I smoke."}])
    assert result.labels["behaviour"] == "question"


def test_subtype_head_balance_divides_by_the_training_priors():
    from feedback.engines.behaviour_coding.model import subtype_head_balance

    head = np.array([[0.6, 0.2, 0.2, 0.0]])
    balanced = subtype_head_balance(head, np.array([0.6, 0.2, 0.2, 0.0]))  # as likely as the priors: uniform
    np.testing.assert_allclose(balanced, [[1 / 3, 1 / 3, 1 / 3, 0.0]])  # a class never seen in training stays 0
    np.testing.assert_array_equal(subtype_head_balance(head, None), head)


def test_shipped_finetuned_coder_needs_no_sentence_embeddings():
    """Blended with the n-gram LR, the fine-tuned model is the only transformer pass of a call."""
    if not DEFAULT_ARTIFACT.with_name("mi_coder_finetuned.safetensors").exists():
        pytest.skip("no fine-tuned model shipped: the coder is the LR blend")

    def refuse(texts):
        raise AssertionError(f"sentence embeddings computed for {texts!r}")

    coder = BehaviourCoder(embed_fn=refuse)
    if coder.finetuned.blend_with != "sparse":
        pytest.skip("the shipped fine-tuned model is blended with the LR blend, which embeds")
    context = [{"speaker": "client", "text": "My wife keeps nagging me about smoking."}]
    result = coder.assess(utterance="Are you ready to quit smoking?", context=context)
    assert result.labels["behaviour"] == "question" and result.labels["question"] == "closed"
    behaviour, subtypes = coder.probabilities(inputs=[coding_input_build(utterance="Hello.", context=context)])
    np.testing.assert_allclose(behaviour.sum(axis=1), 1.0, atol=1e-5)
    for family, probabilities in subtypes.items():  # columns in the order evaluate_assessment reads them
        assert probabilities.shape == (1, len(coder.model.subtypes[family].classes))
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_pair_texts_read_the_trainee_turn_and_the_end_of_long_utterances():
    from feedback.engines.behaviour_coding.finetune import FinetuneConfig, pair_texts

    context = [
        {"speaker": "trainee", "text": "What brings you here today?"},
        {"speaker": "client", "text": "My wife says I drink too much."},
    ]
    long_turn = " ".join(f"w{i}" for i in range(30)) + " is that right?"
    item = coding_input_build(utterance=long_turn, context=context)
    assert pair_texts(item=item, config=FinetuneConfig()) == ("My wife says I drink too much.", long_turn)
    config = FinetuneConfig(trainee_words=3, client_words=4, utterance_words=5, utterance_tail_words=3)
    client, utterance = pair_texts(item=item, config=config)
    assert client == "you here today? | I drink too much."
    assert utterance == "w0 w1 w2 w3 w4 ... is that right?"
    short = coding_input_build(utterance="You feel stuck.", context=[])
    assert pair_texts(item=short, config=config) == ("(start)", "You feel stuck.")


@needs_annomi
@pytest.mark.slow
def test_finetuning_is_deterministic_and_round_trips(tmp_path):
    from feedback.engines.behaviour_coding.annomi import annomi_utterances_load
    from feedback.engines.behaviour_coding.finetune import (
        FinetuneConfig,
        finetune_train,
        finetuned_load,
        finetuned_save,
        lower_states_compute,
    )
    from feedback.engines.behaviour_coding.training import coder_inputs

    examples = annomi_utterances_load(path=ANNOMI)[:160]
    inputs = coder_inputs(examples=examples)
    config = FinetuneConfig(epochs=1, batch_size=16)
    states = lower_states_compute(inputs=inputs, config=config)
    kwargs = {
        "inputs": inputs,
        "behaviours": [example.labels["behaviour"] for example in examples],
        "subtypes": {family: [example.labels.get(family) for example in examples] for family in SUBTYPE_HEADS},
        "config": config,
        "lower_states": states,
        "max_steps": 6,
    }
    first, second = finetune_train(**kwargs), finetune_train(**kwargs)
    probe = inputs[:24]
    np.testing.assert_allclose(
        first.probabilities(inputs=probe)["behaviour"], second.probabilities(inputs=probe)["behaviour"], atol=1e-6
    )
    # A second member that reads more (the trainee's previous turn, the end of long utterances), other seed.
    other_config = FinetuneConfig(
        epochs=1, batch_size=16, seed=17, trainee_words=20, utterance_words=12, utterance_tail_words=6
    )
    other = finetune_train(**(kwargs | {"config": other_config, "lower_states": None}))
    path = finetuned_save(members=[first, other], path=tmp_path / "tuned.safetensors", blend_weight=0.4)
    assert path.stat().st_size < 2 * 20 * 1024 * 1024
    again = finetuned_load(path=path)
    assert again.blend_weight == 0.4 and [member.config for member in again.members] == [config, other_config]
    before = {
        name: (first.probabilities(inputs=probe)[name] + other.probabilities(inputs=probe)[name]) / 2
        for name in ("behaviour", *SUBTYPE_HEADS)
    }
    after = again.probabilities(inputs=probe)
    for name in ("behaviour", *SUBTYPE_HEADS):
        np.testing.assert_allclose(before[name], after[name], atol=5e-3)  # int8 deltas / fp16 storage
        np.testing.assert_allclose(after[name].sum(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(
        first.probabilities(inputs=probe)["behaviour"], other.probabilities(inputs=probe)["behaviour"], atol=1e-3
    )  # the members really differ, so the mean is not one of them


# -- instructor corrections ---------------------------------------------------


def test_an_instructor_correction_changes_the_code_of_a_very_close_utterance(coder):
    """A nearest-corrected-example memory: the corrected code wins for nearly the same words, and only for them."""
    client = "I keep saying I'll cut down and then Friday comes round."
    context = [{"speaker": "client", "text": client}]
    utterance = "So Friday is when the plan falls apart for you."
    before = coder.assess(utterance=utterance, context=context)
    corrected = "question" if before.labels["behaviour"] != "question" else "reflection"
    framework = {
        "slug": "mi",
        "exemplars": [
            {"skill": "behaviour", "label": corrected, "utterance": "So Friday is when the plan falls apart for you?",
             "context": [{"speaker": "partner", "text": client}], "source": "instructor-correction", "id": 4242},
        ],
    }
    taught = BehaviourCoder(framework=framework)
    after = taught.assess(utterance=utterance, context=context)
    assert after.labels["behaviour"] == corrected
    assert after.items[0].exemplars and after.items[0].exemplars[0].exemplar_id == "4242"
    assert corrected.replace("question", "a question").replace("reflection", "a reflection") in after.feedback or corrected in after.feedback
    # An unrelated utterance keeps the model's code.
    other = "What would you like to be different by the summer?"
    assert taught.assess(utterance=other, context=context).labels == coder.assess(utterance=other, context=context).labels
    # Authored exemplars are not corrections: they do not override the model.
    authored = {"slug": "mi", "exemplars": [{**framework["exemplars"][0], "source": "authored"}]}
    assert BehaviourCoder(framework=authored).assess(utterance=utterance, context=context).labels == before.labels


def test_a_subtype_correction_changes_the_subtype(coder):
    utterance = "Are you ready to stop drinking on weeknights?"
    before = coder.assess(utterance=utterance, context=[])
    assert before.labels["behaviour"] == "question"
    corrected = "open" if before.labels["question"] == "closed" else "closed"
    framework = {"slug": "mi", "exemplars": [
        {"skill": "question", "label": corrected, "utterance": "Are you ready to stop drinking on weeknights now?",
         "source": "instructor-correction"},
    ]}
    after = BehaviourCoder(framework=framework).assess(utterance=utterance, context=[])
    assert after.labels["question"] == corrected


def test_suggested_reflections_reflect_feeling_or_meaning_not_pronoun_swaps():
    from feedback.engines.behaviour_coding.suggestions import behaviour_suggestion, complex_reflection

    assert complex_reflection(client_text="My wife made me come. She thinks I drink too much.") == (
        "It sounds like coming here wasn't your idea, and you're feeling pushed into it."
    )
    assert complex_reflection(client_text="I know I should cut down but it's the only thing that helps me relax.") == (
        "On the one hand you know you should cut down, and on the other, it's the only thing that helps you relax."
    )
    assert complex_reflection(client_text="I was so scared when I thought it was my heart.") == "It sounds like you're feeling frightened."
    assert complex_reflection(client_text="It was free and I was passing.") == ""
    # A question after the client said something that matters: say a complex reflection would serve better.
    suggestion, rewrite = behaviour_suggestion(
        labels={"behaviour": "question", "question": "open"}, utterance="How much do you drink?",
        client_text="My wife made me come. She thinks I drink too much.",
    )
    assert "complex reflection would serve better here than another question" in suggestion
    assert rewrite == "It sounds like coming here wasn't your idea, and you're feeling pushed into it."
    # Two questions in a row, even on plain facts.
    suggestion, _ = behaviour_suggestion(
        labels={"behaviour": "question", "question": "open"}, utterance="What happened next?",
        client_text="Then I went to the shop on the corner and bought some more.", previous_trainee="Where did you go?",
    )
    assert suggestion.startswith("That is a second question in a row")
