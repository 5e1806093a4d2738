"""The MI coder's parameters and the maths that applies them; no training here.

Stored as one numpy .npz (arrays and string vocabularies, loaded with
allow_pickle=False so a tampered file cannot run code) plus a JSON card with
provenance. Inference re-uses scikit-learn's TF-IDF vectorizer with the saved
vocabulary and idf, so the features are exactly the ones trained on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
DEFAULT_ARTIFACT = ARTIFACT_DIR / "mi_coder.npz"
FORMAT_VERSION = 1

# Parameters of the two text vectorizers; kept here so training and inference cannot drift apart.
WORD_TFIDF = {
    "ngram_range": (1, 3),
    "min_df": 2,
    "sublinear_tf": True,
    "token_pattern": r"(?u)\b\w[\w']*\b|\?",
    "max_features": 30000,
}
CHAR_TFIDF = {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 3, "sublinear_tf": True, "max_features": 40000}


@dataclass
class LinearModel:
    """A fitted (multinomial or binary) logistic regression: classes, weights, bias."""

    classes: list[str]
    coef: np.ndarray  # (n_classes, n_features), or (1, n_features) for a binary model
    intercept: np.ndarray

    def proba(self, features) -> np.ndarray:
        scores = np.asarray(features @ self.coef.T, dtype=np.float64) + self.intercept
        if self.coef.shape[0] == 1:  # binary: sklearn keeps one row for the positive (second) class
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.stack([1.0 - positive, positive], axis=1)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    @classmethod
    def from_sklearn(cls, model) -> LinearModel:
        return cls(
            classes=[str(label) for label in model.classes_],
            coef=model.coef_.astype(np.float32),
            intercept=model.intercept_.astype(np.float64),
        )


@dataclass
class Standardizer:
    mean: np.ndarray
    scale: np.ndarray

    def apply(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.scale

    @classmethod
    def fit(cls, values: np.ndarray) -> Standardizer:
        scale = values.std(axis=0)
        scale[scale < 1e-6] = 1.0
        return cls(mean=values.mean(axis=0).astype(np.float32), scale=scale.astype(np.float32))


def subtype_head_balance(probabilities: np.ndarray, priors: np.ndarray | None) -> np.ndarray:
    """A subtype head's probabilities divided by the training priors and renormalised (None: unchanged).

    A class with no training example (prior 0) gets probability 0, as it does from the LR it is averaged with.
    """
    if priors is None:
        return probabilities
    priors = np.asarray(priors, dtype=np.float64)
    balanced = np.where(priors > 0, probabilities / np.maximum(priors, 1e-12), 0.0)
    total = balanced.sum(axis=1, keepdims=True)
    return np.where(total > 0, balanced / np.where(total > 0, total, 1.0), probabilities)


def tfidf_vectorizer_build(*, params: dict, vocabulary: list[str] | None = None, idf: np.ndarray | None = None):
    options = (
        {key: value for key, value in params.items() if key not in ("min_df", "max_features")}
        if vocabulary
        else dict(params)
    )
    vectorizer = TfidfVectorizer(
        **options, vocabulary={term: index for index, term in enumerate(vocabulary)} if vocabulary else None
    )
    if vocabulary is not None and idf is not None:
        vectorizer.idf_ = idf
    return vectorizer


@dataclass
class CoderModel:
    """Everything the BehaviourCoder needs at inference time."""

    lexical_scaler: Standardizer
    dense: LinearModel  # behaviour from embeddings (utterance + context) and cues
    word_vocabulary: list[str]
    word_idf: np.ndarray
    char_vocabulary: list[str]
    char_idf: np.ndarray
    sparse: LinearModel  # behaviour from word/char n-grams and cues
    sparse_weight: float  # behaviour probabilities = (1 - w) * dense + w * sparse
    subtypes: dict[str, LinearModel]  # reflection / question / input, over the dense features
    # The same over the n-gram features; averaged with the fine-tuned model's subtype heads when it is blended
    # with the n-gram LR (then no sentence embeddings are computed). Empty in artifacts from before they existed.
    sparse_subtypes: dict[str, LinearModel] = field(default_factory=dict)
    # Training priors of the class-balanced subtype families (columns in SUBTYPE_LABELS order): the fine-tuned
    # heads are divided by them so that they are balanced like the LRs they are averaged with.
    subtype_priors: dict[str, np.ndarray] = field(default_factory=dict)
    card: dict = field(default_factory=dict)  # provenance and figures (the JSON next to the .npz)
    _vectorizers: tuple | None = None

    def vectorizers(self) -> tuple[TfidfVectorizer, TfidfVectorizer]:
        if self._vectorizers is None:
            self._vectorizers = (
                tfidf_vectorizer_build(params=WORD_TFIDF, vocabulary=self.word_vocabulary, idf=self.word_idf),
                tfidf_vectorizer_build(params=CHAR_TFIDF, vocabulary=self.char_vocabulary, idf=self.char_idf),
            )
        return self._vectorizers


def _linear_arrays(prefix: str, model: LinearModel) -> dict:
    return {
        f"{prefix}__coef": model.coef,
        f"{prefix}__intercept": model.intercept,
        f"{prefix}__classes": np.asarray(model.classes),
    }


def _linear_from(arrays, prefix: str) -> LinearModel:
    return LinearModel(
        classes=[str(label) for label in arrays[f"{prefix}__classes"]],
        coef=arrays[f"{prefix}__coef"],
        intercept=arrays[f"{prefix}__intercept"],
    )


def coder_model_save(*, model: CoderModel, path: Path) -> Path:
    """Write the .npz and the JSON card (same stem) and return the .npz path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "format_version": np.asarray(FORMAT_VERSION),
        "lexical__mean": model.lexical_scaler.mean,
        "lexical__scale": model.lexical_scaler.scale,
        "sparse_weight": np.asarray(model.sparse_weight),
        "word__vocabulary": np.asarray(model.word_vocabulary),
        "word__idf": model.word_idf.astype(np.float32),
        "char__vocabulary": np.asarray(model.char_vocabulary),
        "char__idf": model.char_idf.astype(np.float32),
        **_linear_arrays("dense", model.dense),
        **_linear_arrays("sparse", model.sparse),
    }
    for family, linear in model.subtypes.items():
        arrays.update(_linear_arrays(f"subtype_{family}", linear))
    for family, linear in model.sparse_subtypes.items():
        arrays.update(_linear_arrays(f"sparsesubtype_{family}", linear))
    for family, priors in model.subtype_priors.items():
        arrays[f"subtypeprior_{family}"] = np.asarray(priors, dtype=np.float64)
    np.savez_compressed(path, **arrays)
    path.with_suffix(".json").write_text(json.dumps(model.card, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def coder_model_load(*, path: Path = DEFAULT_ARTIFACT) -> CoderModel:
    path = Path(path)
    with np.load(path, allow_pickle=False) as arrays:
        if int(arrays["format_version"]) != FORMAT_VERSION:
            raise ValueError(f"{path}: format {int(arrays['format_version'])}, expected {FORMAT_VERSION}")
        subtypes = {
            key[len("subtype_") : -len("__coef")]: _linear_from(arrays, key[: -len("__coef")])
            for key in arrays.files
            if key.startswith("subtype_") and key.endswith("__coef")
        }
        sparse_subtypes = {
            key[len("sparsesubtype_") : -len("__coef")]: _linear_from(arrays, key[: -len("__coef")])
            for key in arrays.files
            if key.startswith("sparsesubtype_") and key.endswith("__coef")
        }
        card_path = path.with_suffix(".json")
        return CoderModel(
            lexical_scaler=Standardizer(arrays["lexical__mean"], arrays["lexical__scale"]),
            dense=_linear_from(arrays, "dense"),
            word_vocabulary=[str(term) for term in arrays["word__vocabulary"]],
            word_idf=arrays["word__idf"].astype(np.float64),
            char_vocabulary=[str(term) for term in arrays["char__vocabulary"]],
            char_idf=arrays["char__idf"].astype(np.float64),
            sparse=_linear_from(arrays, "sparse"),
            sparse_weight=float(arrays["sparse_weight"]),
            subtypes=subtypes,
            sparse_subtypes=sparse_subtypes,
            subtype_priors={
                key[len("subtypeprior_") :]: arrays[key] for key in arrays.files if key.startswith("subtypeprior_")
            },
            card=json.loads(card_path.read_text(encoding="utf-8")) if card_path.exists() else {},
        )
