"""Training the MI coder, with transcript-grouped cross-validation.

Two behaviour models are blended with a fixed weight (no tuning on the test
folds): a logistic regression over sentence embeddings of the utterance and of
the previous client and therapist turns, plus form cues; and a logistic
regression over word and character n-grams plus the same cues. Every split is
by transcript (GroupKFold), never by utterance: neighbouring turns of one
conversation are too alike for an utterance split to say anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from feedback.engines.behaviour_coding.annomi import BEHAVIOURS, CodedUtterance
from feedback.engines.behaviour_coding.encoding import (
    coding_input_build,
    dense_matrix_build,
    lexical_matrix_build,
    sparse_matrix_build,
    texts_needed,
)
from feedback.engines.behaviour_coding.metrics import classification_metrics
from feedback.engines.behaviour_coding.model import (
    CHAR_TFIDF,
    WORD_TFIDF,
    CoderModel,
    LinearModel,
    Standardizer,
    subtype_head_balance,
    tfidf_vectorizer_build,
)

logger = logging.getLogger(__name__)

SUBTYPE_LABELS = {
    "reflection": ("simple", "complex"),
    "question": ("open", "closed"),
    "input": ("information", "advice", "negotiation", "options"),
}
DENSE_C = 0.3
SPARSE_C = 3.0
SUBTYPE_C = 0.3
# Subtype families whose models are class-balanced (input: information is 63 % of it, options 4 %). For the
# fine-tuned model's heads (trained on the plain loss) this is done by dividing by the training priors.
BALANCED_SUBTYPES = ("input",)
SPARSE_WEIGHT = 0.5
# Share of the fine-tuned MiniLM in the shipped behaviour probabilities; the rest goes to FINETUNED_BLEND_WITH:
# "sparse" (the n-gram LR alone) or "blend" (the LR blend). Fixed at an even split, never tuned on test folds.
# "sparse" because the n-gram LR needs no sentence embeddings, so a call runs one transformer pass (the pair)
# instead of two (embedding three texts + the pair); in the same CV run the fine-tuned model blended with the
# LR blend scored within noise of it (see docs/assessment-evaluation.md), and is reported as finetuned_lr_blend.
FINETUNED_WEIGHT = 0.5
FINETUNED_BLEND_WITH = "sparse"
# The fine-tuned ensemble's members, as the FinetuneConfig settings each changes (their probabilities are
# averaged).
FINETUNE_MEMBERS: tuple[dict, ...] = ({},)


def embedding_lookup_build(*, texts: Sequence[str], embed_fn: Callable | None = None) -> Callable[[str], np.ndarray]:
    """Embed every distinct text once; "" (no such turn) maps to the zero vector."""
    if embed_fn is None:
        from trainer_app.engines.embeddings import embed as embed_fn
    distinct = sorted({text for text in texts if text})
    vectors = embed_fn(distinct) if distinct else np.zeros((0, 384), dtype=np.float32)
    table = {text: vectors[index] for index, text in enumerate(distinct)}
    zero = np.zeros(vectors.shape[1] if len(vectors) else 384, dtype=np.float32)
    return lambda text: table.get(text, zero) if text else zero


def _logistic(*, c: float, balanced: bool = False) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=3000, class_weight="balanced" if balanced else None)


def _fit_all(*, inputs, behaviours, subtypes, vector_of, indices) -> dict:
    """Fit every component on the examples at `indices`; returns fitted pieces (sklearn objects)."""
    chosen = [inputs[index] for index in indices]
    lexical = lexical_matrix_build(inputs=chosen)
    scaler = Standardizer.fit(lexical)
    scaled = scaler.apply(lexical)
    dense_x = dense_matrix_build(inputs=chosen, lexical_scaled=scaled, vector_of=vector_of)
    dense = _logistic(c=DENSE_C, balanced=True).fit(dense_x, behaviours[indices])
    word = tfidf_vectorizer_build(params=WORD_TFIDF).fit([item.utterance for item in chosen])
    char = tfidf_vectorizer_build(params=CHAR_TFIDF).fit([item.utterance for item in chosen])
    sparse_x = sparse_matrix_build(inputs=chosen, lexical_scaled=scaled, vectorizers=(word, char))
    sparse = _logistic(c=SPARSE_C).fit(sparse_x, behaviours[indices])
    # The plain baseline the brief compares against: utterance embedding only.
    utterance_only = np.vstack([vector_of(item.utterance) for item in chosen])
    baseline = _logistic(c=1.0).fit(utterance_only, behaviours[indices])
    subtype_models, sparse_subtype_models, subtype_priors = {}, {}, {}
    for family in SUBTYPE_LABELS:
        mask = np.array([subtypes[family][index] is not None for index in indices])
        if len(set(subtypes[family][indices][mask])) > 1:
            subtype_models[family] = _logistic(c=SUBTYPE_C, balanced=family in BALANCED_SUBTYPES).fit(
                dense_x[mask], subtypes[family][indices][mask]
            )
            # Over the n-gram features: what the fine-tuned model's subtype heads are averaged with.
            sparse_subtype_models[family] = _logistic(c=SPARSE_C, balanced=family in BALANCED_SUBTYPES).fit(
                sparse_x[mask], subtypes[family][indices][mask]
            )
            if family in BALANCED_SUBTYPES:
                labels = subtypes[family][indices][mask]
                subtype_priors[family] = np.array([np.mean(labels == label) for label in SUBTYPE_LABELS[family]])
    return {
        "scaler": scaler,
        "dense": dense,
        "word": word,
        "char": char,
        "sparse": sparse,
        "baseline": baseline,
        "subtypes": subtype_models,
        "sparse_subtypes": sparse_subtype_models,
        "subtype_priors": subtype_priors,
    }


def _predict_all(*, fitted: dict, inputs, vector_of) -> dict:
    scaled = fitted["scaler"].apply(lexical_matrix_build(inputs=inputs))
    dense_x = dense_matrix_build(inputs=inputs, lexical_scaled=scaled, vector_of=vector_of)
    sparse_x = sparse_matrix_build(inputs=inputs, lexical_scaled=scaled, vectorizers=(fitted["word"], fitted["char"]))
    order = list(BEHAVIOURS)

    def aligned(model, x):  # columns in BEHAVIOURS order, whatever classes the fold saw
        proba = model.predict_proba(x)
        out = np.zeros((x.shape[0], len(order)))
        for column, label in enumerate(model.classes_):
            out[:, order.index(label)] = proba[:, column]
        return out

    dense = aligned(fitted["dense"], dense_x)
    sparse = aligned(fitted["sparse"], sparse_x)
    utterance_only = np.vstack([vector_of(item.utterance) for item in inputs])
    return {
        "baseline": aligned(fitted["baseline"], utterance_only),
        "dense": dense,
        "sparse": sparse,
        "blend": (1 - SPARSE_WEIGHT) * dense + SPARSE_WEIGHT * sparse,
        "subtypes": {family: model.predict(dense_x) for family, model in fitted["subtypes"].items()},
        "sparse_subtypes": {  # probabilities, columns in SUBTYPE_LABELS order (0 for a class the fold lacked)
            family: _columns(model.predict_proba(sparse_x), list(model.classes_), SUBTYPE_LABELS[family])
            for family, model in fitted["sparse_subtypes"].items()
        },
    }


def _columns(probabilities: np.ndarray, classes: list, labels) -> np.ndarray:
    out = np.zeros((probabilities.shape[0], len(labels)))
    for column, label in enumerate(classes):
        out[:, list(labels).index(label)] = probabilities[:, column]
    return out


def coder_cross_validate(
    *,
    examples: list[CodedUtterance],
    vector_of: Callable[[str], np.ndarray],
    folds: int = 5,
    finetune_configs: Sequence | None = None,
    finetune_max_steps: int | None = None,
    member_cache=None,
) -> dict:
    """Grouped k-fold figures for the coder and for the plain embedding baseline, measured side by side.

    With `finetune_configs` (one per ensemble member), each fold also fine-tunes each member on its training
    transcripts and the figures gain `finetuned_member_<i>` (each alone), `finetuned` (the members' mean),
    `finetuned_blend` (the shipped candidate: FINETUNED_WEIGHT of it plus the FINETUNED_BLEND_WITH part) and
    `finetuned_lr_blend` (an even split with the LR blend, for comparison). `member_cache` (a
    MemberCache) keeps each member's out-of-fold probabilities: a member is fine-tuned 5 times per run, so
    an unchanged member (same data, config, folds and steps) is read back instead.
    """
    inputs = [coding_input_build(utterance=example.utterance, context=example.context) for example in examples]
    behaviours = np.array([example.labels["behaviour"] for example in examples], dtype=object)
    subtypes = {
        family: np.array([example.labels.get(family) for example in examples], dtype=object)
        for family in SUBTYPE_LABELS
    }
    groups = np.array([example.group for example in examples])
    out_of_fold = {
        name: np.zeros((len(examples), len(BEHAVIOURS))) for name in ("baseline", "dense", "sparse", "blend")
    }
    subtype_predictions = {family: np.full(len(examples), None, dtype=object) for family in SUBTYPE_LABELS}
    splits = list(GroupKFold(n_splits=folds).split(inputs, behaviours, groups))
    if finetune_configs:
        members = [
            member_out_of_fold(
                inputs=inputs,
                behaviours=behaviours,
                subtypes=subtypes,
                splits=splits,
                config=config,
                max_steps=finetune_max_steps,
                cache=member_cache,
            )
            for config in finetune_configs
        ]
        for index, member in enumerate(members):
            out_of_fold[f"finetuned_member_{index}"] = member["behaviour"]
        tuned_oof = {name: np.mean([member[name] for member in members], axis=0) for name in members[0]}
        out_of_fold["finetuned"] = tuned_oof["behaviour"]
        finetuned_subtypes = {
            family: np.array([labels[i] for i in tuned_oof[family].argmax(axis=1)], dtype=object)
            for family, labels in SUBTYPE_LABELS.items()
        }
        shipped_subtypes = {family: np.full(len(examples), None, dtype=object) for family in SUBTYPE_LABELS}
    for fold, (train, test) in enumerate(splits):
        logger.info("fold %d: %d train / %d test utterances", fold + 1, len(train), len(test))
        fitted = _fit_all(inputs=inputs, behaviours=behaviours, subtypes=subtypes, vector_of=vector_of, indices=train)
        predicted = _predict_all(fitted=fitted, inputs=[inputs[index] for index in test], vector_of=vector_of)
        for name in ("baseline", "dense", "sparse", "blend"):
            out_of_fold[name][test] = predicted[name]
        for family, labels in predicted["subtypes"].items():
            subtype_predictions[family][test] = labels
        if finetune_configs:
            for family, labels in SUBTYPE_LABELS.items():
                if family in predicted["sparse_subtypes"]:  # what the shipped coder does with the "sparse" blend
                    head = subtype_head_balance(tuned_oof[family][test], fitted["subtype_priors"].get(family))
                    averaged = (head + predicted["sparse_subtypes"][family]) / 2
                    shipped_subtypes[family][test] = [labels[i] for i in averaged.argmax(axis=1)]
    if finetune_configs:
        out_of_fold["finetuned_blend"] = (
            FINETUNED_WEIGHT * out_of_fold["finetuned"] + (1 - FINETUNED_WEIGHT) * out_of_fold[FINETUNED_BLEND_WITH]
        )
        out_of_fold["finetuned_lr_blend"] = 0.5 * out_of_fold["finetuned"] + 0.5 * out_of_fold["blend"]
    figures = {
        name: classification_metrics(
            gold=behaviours, predicted=[BEHAVIOURS[i] for i in probabilities.argmax(axis=1)], labels=BEHAVIOURS
        )
        for name, probabilities in out_of_fold.items()
    }
    figures["subtypes_given_gold_family"] = {
        family: classification_metrics(
            gold=subtypes[family][subtypes[family] != None],  # noqa: E711 (numpy element-wise)
            predicted=subtype_predictions[family][subtypes[family] != None],  # noqa: E711
            labels=SUBTYPE_LABELS[family],
        )
        for family in SUBTYPE_LABELS
    }
    if finetune_configs:
        for name, predictions in (
            ("finetuned_subtypes_given_gold_family", finetuned_subtypes),
            ("finetuned_sparse_subtypes_given_gold_family", shipped_subtypes),
        ):
            figures[name] = {
                family: classification_metrics(
                    gold=subtypes[family][subtypes[family] != None],  # noqa: E711
                    predicted=predictions[family][subtypes[family] != None],  # noqa: E711
                    labels=SUBTYPE_LABELS[family],
                )
                for family in SUBTYPE_LABELS
            }
    figures["folds"] = folds
    figures["transcripts"] = len(set(groups))
    figures["utterances"] = len(examples)
    return figures


def member_out_of_fold(
    *, inputs, behaviours, subtypes, splits, config, max_steps: int | None = None, cache=None
) -> dict[str, np.ndarray]:
    """One fine-tuned member's out-of-fold probabilities (behaviour and each subtype head) on these splits."""
    from feedback.engines.behaviour_coding.finetune import finetune_train, lower_states_compute

    key = None
    if cache is not None:
        key = cache.key(config=config, splits=splits, max_steps=max_steps)
        found = cache.read(key=key)
        if found is not None:
            logger.info("member %s: out-of-fold probabilities from the cache", key[:12])
            return found
    lower_states = lower_states_compute(inputs=inputs, config=config)
    heads = {"behaviour": len(BEHAVIOURS)} | {family: len(labels) for family, labels in SUBTYPE_LABELS.items()}
    out = {name: np.zeros((len(inputs), width)) for name, width in heads.items()}
    for fold, (train, test) in enumerate(splits):
        tuned = finetune_train(
            inputs=[inputs[index] for index in train],
            behaviours=behaviours[train],
            subtypes={family: subtypes[family][train] for family in SUBTYPE_LABELS},
            config=config,
            lower_states=[lower_states[index] for index in train],
            max_steps=max_steps,
        )
        probabilities = tuned.probabilities(inputs=[inputs[index] for index in test])
        for name in out:
            out[name][test] = probabilities[name]
        logger.info("fold %d: member fine-tuned", fold + 1)
    if cache is not None:
        cache.write(key=key, probabilities=out)
    return out


def coder_train(*, examples: list[CodedUtterance], vector_of: Callable[[str], np.ndarray], card: dict) -> CoderModel:
    """Fit the shipped model on all examples."""
    inputs = [coding_input_build(utterance=example.utterance, context=example.context) for example in examples]
    behaviours = np.array([example.labels["behaviour"] for example in examples], dtype=object)
    subtypes = {
        family: np.array([example.labels.get(family) for example in examples], dtype=object)
        for family in SUBTYPE_LABELS
    }
    fitted = _fit_all(
        inputs=inputs, behaviours=behaviours, subtypes=subtypes, vector_of=vector_of, indices=np.arange(len(examples))
    )
    return CoderModel(
        lexical_scaler=fitted["scaler"],
        dense=LinearModel.from_sklearn(fitted["dense"]),
        word_vocabulary=list(fitted["word"].get_feature_names_out()),
        word_idf=fitted["word"].idf_,
        char_vocabulary=list(fitted["char"].get_feature_names_out()),
        char_idf=fitted["char"].idf_,
        sparse=LinearModel.from_sklearn(fitted["sparse"]),
        sparse_weight=SPARSE_WEIGHT,
        subtypes={family: LinearModel.from_sklearn(model) for family, model in fitted["subtypes"].items()},
        sparse_subtypes={
            family: LinearModel.from_sklearn(model) for family, model in fitted["sparse_subtypes"].items()
        },
        subtype_priors=fitted["subtype_priors"],
        card=card,
    )


def coder_inputs(*, examples: list[CodedUtterance]) -> list:
    return [coding_input_build(utterance=example.utterance, context=example.context) for example in examples]


def coder_texts(*, examples: list[CodedUtterance]) -> list[str]:
    inputs = [coding_input_build(utterance=example.utterance, context=example.context) for example in examples]
    return texts_needed(inputs=inputs)
