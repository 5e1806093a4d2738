"""BehaviourCoder: codes one trainee utterance with MI behaviour codes, offline.

The shipped model (artifacts/mi_coder.npz) is loaded once per process. When
the fine-tuned MiniLM (artifacts/mi_coder_finetuned.safetensors) sits next to
it, its probabilities are blended with the part and the weight recorded at
training time: with the n-gram LR ("sparse", shipped: no sentence embeddings
are computed, subtypes average its heads and the n-gram subtype LRs) or with
the LR blend. Without it the coder falls back to the logistic-regression
blend (sentence embeddings + n-grams); the embeddings of context turns are
cached, because in a live session each turn is seen again as the next turn's
context.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from feedback.engines.behaviour_coding.annomi import BEHAVIOURS
from feedback.engines.behaviour_coding.encoding import (
    CodingInput,
    coding_input_build,
    dense_matrix_build,
    lexical_matrix_build,
    sparse_matrix_build,
    texts_needed,
)
from feedback.engines.behaviour_coding.features import PHRASES
from feedback.engines.behaviour_coding.finetune import (
    SUBTYPE_HEADS,
    FinetunedEnsemble,
    finetuned_load,
    finetuned_path_for,
)
from feedback.engines.behaviour_coding.miti import DEFAULT_TARGETS
from feedback.engines.behaviour_coding.model import (
    DEFAULT_ARTIFACT,
    CoderModel,
    coder_model_load,
    subtype_head_balance,
)
from feedback.engines.behaviour_coding.suggestions import behaviour_suggestion, question_sentence
from feedback.engines.correction_memory import CorrectionMemory
from feedback.engines.types import SkillAssessment, UtteranceAssessment

BACKEND = "offline-mi-coder"
SUBTYPE_FAMILY = {"reflection": "reflection", "question": "question", "therapist_input": "input"}
BEHAVIOUR_WORDS = {
    "reflection": "a reflection",
    "question": "a question",
    "therapist_input": "therapist input",
    "other": "neither a reflection, a question nor input (e.g. an acknowledgement or greeting)",
}
CACHE_SIZE = 4096
EMBEDDING_DIM = 384


@lru_cache(maxsize=4)
def _shared_model(path: str) -> CoderModel:
    return coder_model_load(path=Path(path))


@lru_cache(maxsize=4)
def _shared_finetuned(path: str) -> FinetunedEnsemble | None:
    """The fine-tuned model next to an artifact, or None (fallback: LR blend only) when it is not there."""
    weights = finetuned_path_for(artifact=Path(path))
    if not weights.exists():
        return None
    from trainer_app.engines.embeddings import _torch_threads_limit

    _torch_threads_limit()  # the project's torch thread policy (TORCH_THREADS, default 1), as for embeddings
    return finetuned_load(path=weights)


class BehaviourCoder:
    """Assessor for behaviour-coding frameworks (MI): `assess(*, utterance, context) -> UtteranceAssessment`."""

    kind = "behaviour-coding"

    def __init__(
        self,
        *,
        framework: dict | None = None,
        artifact: Path = DEFAULT_ARTIFACT,
        embed_fn: Callable[[list[str]], np.ndarray] | None = None,
        use_finetuned: bool = True,
    ) -> None:
        self.framework = framework or {}
        self.slug = str(self.framework.get("slug") or "mi")
        self.targets = {**DEFAULT_TARGETS, **(self.framework.get("targets") or {})}
        self.model = _shared_model(str(Path(artifact).resolve()))
        self.finetuned = _shared_finetuned(str(Path(artifact).resolve())) if use_finetuned else None
        self._embed_fn = embed_fn
        # Instructor corrections of this framework: a very close utterance takes the corrected code.
        self.corrections = CorrectionMemory(framework=self.framework)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    # -- embeddings ------------------------------------------------------
    def _embed(self, texts: list[str]) -> np.ndarray:
        if self._embed_fn is None:
            from trainer_app.engines.embeddings import embed

            self._embed_fn = embed
        return self._embed_fn(texts)

    def embeddings_warm(self, *, texts: Sequence[str]) -> None:
        """Embed, in batches, every text not yet cached (use before coding many utterances)."""
        with self._lock:
            missing = list(dict.fromkeys(text for text in texts if text and text not in self._cache))
        for start in range(0, len(missing), 256):
            chunk = missing[start : start + 256]
            vectors = self._embed(chunk)
            with self._lock:
                for text, vector in zip(chunk, vectors, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > max(CACHE_SIZE, len(missing)):
                    self._cache.popitem(last=False)

    def _vector_of(self, text: str) -> np.ndarray:
        if not text:
            return np.zeros(EMBEDDING_DIM, dtype=np.float32)  # no such turn
        with self._lock:
            vector = self._cache.get(text)
            if vector is not None:
                self._cache.move_to_end(text)
                return vector
        self.embeddings_warm(texts=[text])
        with self._lock:
            return self._cache[text]

    # -- coding ----------------------------------------------------------
    def probabilities(self, *, inputs: Sequence[CodingInput]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Behaviour probabilities (columns in BEHAVIOURS order) and subtype probabilities per family
        (columns in the order of `self.model.subtypes[family].classes`)."""
        model = self.model
        tuned = self.finetuned
        if tuned is not None and tuned.blend_with == "sparse" and model.sparse_subtypes:
            return self._probabilities_without_embeddings(inputs=inputs)
        self.embeddings_warm(texts=texts_needed(inputs=inputs))
        scaled = model.lexical_scaler.apply(lexical_matrix_build(inputs=inputs))
        dense_x = dense_matrix_build(inputs=inputs, lexical_scaled=scaled, vector_of=self._vector_of)
        sparse_x = sparse_matrix_build(inputs=inputs, lexical_scaled=scaled, vectorizers=model.vectorizers())
        behaviour = (1 - model.sparse_weight) * _aligned(model.dense, dense_x, BEHAVIOURS) + model.sparse_weight * (
            _aligned(model.sparse, sparse_x, BEHAVIOURS)
        )
        if tuned is not None:
            weight = tuned.blend_weight
            behaviour = (1 - weight) * behaviour + weight * tuned.probabilities(inputs=inputs)["behaviour"]
        subtypes = {family: linear.proba(dense_x) for family, linear in model.subtypes.items()}
        return behaviour, subtypes

    def _probabilities_without_embeddings(self, *, inputs: Sequence[CodingInput]):
        """Fine-tuned pair model + n-gram LR: one transformer pass per call, no sentence embeddings."""
        model, tuned = self.model, self.finetuned
        scaled = model.lexical_scaler.apply(lexical_matrix_build(inputs=inputs))
        sparse_x = sparse_matrix_build(inputs=inputs, lexical_scaled=scaled, vectorizers=model.vectorizers())
        heads = tuned.probabilities(inputs=inputs)
        weight = tuned.blend_weight
        behaviour = (1 - weight) * _aligned(model.sparse, sparse_x, BEHAVIOURS) + weight * heads["behaviour"]
        subtypes = {}
        for family, linear in model.subtypes.items():
            classes = linear.classes  # the column order callers read the subtype probabilities in
            head = subtype_head_balance(heads[family], model.subtype_priors.get(family))
            head = head[:, [SUBTYPE_HEADS[family].index(label) for label in classes]]
            if family in model.sparse_subtypes:
                subtypes[family] = (head + _aligned(model.sparse_subtypes[family], sparse_x, classes)) / 2
            else:
                subtypes[family] = head
        return behaviour, subtypes

    def assess_many(self, *, items: Sequence[tuple[str, list[dict]]]) -> list[UtteranceAssessment]:
        """Code many (utterance, context) pairs with batched embeddings; same result as assess() on each."""
        inputs = [coding_input_build(utterance=utterance, context=context) for utterance, context in items]
        if not inputs:
            return []
        behaviour, subtypes = self.probabilities(inputs=inputs)
        return [
            self._assessment(item=item, behaviour=behaviour[row], subtypes={f: p[row] for f, p in subtypes.items()})
            for row, item in enumerate(inputs)
        ]

    def assess(self, *, utterance: str, context: list[dict]) -> UtteranceAssessment:
        return self.assess_many(items=[(utterance, list(context or []))])[0]

    def _assessment(
        self, *, item: CodingInput, behaviour: np.ndarray, subtypes: dict[str, np.ndarray]
    ) -> UtteranceAssessment:
        best = int(behaviour.argmax())
        code = BEHAVIOURS[best]
        confidence = float(behaviour[best])
        context = [{"speaker": "client", "text": item.previous_client}] if item.previous_client else []
        corrected = self.corrections.lookup(skill="behaviour", utterance=item.utterance, context=context)
        if corrected is not None and corrected.label in BEHAVIOURS:
            code, confidence = corrected.label, corrected.similarity
        labels: dict = {"behaviour": code, "reflection": None, "question": None, "input": None}
        items = [
            SkillAssessment(
                skill="behaviour",
                label=code,
                confidence=round(confidence, 3),
                evidence=_evidence(code=code, utterance=item.utterance),
                exemplars=[corrected.exemplar] if corrected is not None and corrected.label == code else [],
            )
        ]
        family = SUBTYPE_FAMILY.get(code)
        if family and family in subtypes:
            classes = self.model.subtypes[family].classes
            column = int(subtypes[family].argmax())
            subtype, subtype_confidence, aligned = classes[column], float(subtypes[family][column]), []
            sub_corrected = self.corrections.lookup(skill=family, utterance=item.utterance, context=context)
            if sub_corrected is not None and sub_corrected.label in classes:
                subtype, subtype_confidence, aligned = sub_corrected.label, sub_corrected.similarity, [sub_corrected.exemplar]
            labels[family] = subtype
            items.append(
                SkillAssessment(skill=family, label=subtype, confidence=round(subtype_confidence, 3), exemplars=aligned)
            )
        suggestion, rewrite = behaviour_suggestion(
            labels=labels, utterance=item.utterance, client_text=item.previous_client, previous_trainee=item.previous_trainee
        )
        items[-1].suggestion = suggestion
        items[-1].rewrite = rewrite
        return UtteranceAssessment(
            framework=self.slug,
            kind=self.kind,
            backend=BACKEND,
            items=items,
            feedback=_feedback_text(labels=labels, suggestion=suggestion),
            labels=labels,
        )


def _aligned(linear, features, labels: Sequence[str]) -> np.ndarray:
    """A linear model's probabilities with columns in the order of `labels`."""
    probabilities = linear.proba(features)
    return probabilities[:, [linear.classes.index(label) for label in labels]]


def _evidence(*, code: str, utterance: str) -> str:
    lower = utterance.lower()
    if code == "question" and "?" in utterance:
        return question_sentence(utterance=utterance)
    if code == "reflection":
        for phrase in PHRASES["reflect_stem"]:
            start = lower.find(phrase)
            if start >= 0:
                return utterance[start : start + 120]
    return ""


def _feedback_text(*, labels: dict, suggestion: str) -> str:
    code = labels["behaviour"]
    subtype = labels.get(SUBTYPE_FAMILY.get(code, ""))
    if code == "therapist_input" and subtype:
        described = f"therapist input ({subtype})"
    elif subtype:
        article = "an" if subtype[0] in "aeiou" else "a"
        described = f"{article} {subtype} {code}"
    else:
        described = BEHAVIOUR_WORDS[code]
    return f"Coded as {described}. {suggestion}".strip()
