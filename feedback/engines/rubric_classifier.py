"""Per-skill rubric classifier trained on a framework's expert exemplars.

A dozen exemplars per skill is too few for a classifier over raw 384-d
embeddings, so each (utterance, skill) becomes a handful of skill-relative
features that mean the same thing for every skill:

- similarity-weighted kNN votes over the skill's exemplars, per label;
- the highest similarity to the skill's exemplars of each label;
- similarity to the skill's own definition + guidance text;
- counts of the skill's lexical cues (see lexical_cues).

One logistic regression per label set is trained on all skills sharing it
(DEAR MAN: 7 skills x 12+ exemplars pooled), with the kNN features of each
training row computed leave-one-out so they look like they will at query
time. An utterance nearly identical to an expert exemplar takes that
exemplar's label outright: an instructor's correction must visibly change
the next assessment of the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from feedback.engines.lexical_cues import cue_matches, skill_cues
from feedback.engines.retrieval import ExemplarIndex
from feedback.engines.skill_evidence import Evidence, evidence_label
from trainer_app.engines.embeddings import embed

KNN_K = 7
KNN_TEMPERATURE = 0.05  # softmax temperature over cosine similarities: nearer exemplars dominate
NEAR_DUPLICATE = 0.92  # cosine at which an exemplar is "the same utterance" (MiniLM paraphrase range starts ~0.8)
_MIN_ROWS_FOR_MODEL = 6
CUE_PRIOR = 1.5  # odds multiplier of the skill's own lexical evidence (chosen by leave-one-out on the starter pack)


@dataclass
class SkillPrediction:
    label: str
    confidence: float
    probabilities: dict[str, float]
    positive_cues: list[str] = field(default_factory=list)
    negative_cues: list[str] = field(default_factory=list)
    near_duplicate: int | None = None  # index position of the exemplar whose label was taken


def _definition_text(skill: dict) -> str:
    """Name, definition, guidance, and what its present levels (all but the last, "absent") mean."""
    levels = skill.get("levels") or {}
    labels = list(skill.get("labels") or levels)
    present_levels = [str(levels[label]) for label in labels[:-1] if label in levels] if len(labels) > 1 else []
    parts = [str(skill.get(k, "") or "") for k in ("name", "definition", "guidance")] + present_levels
    return " ".join(parts).strip()


class RubricClassifier:
    def __init__(self, *, index: ExemplarIndex, definition_vectors: dict[str, np.ndarray] | None = None) -> None:
        self.index = index
        self.skill_slugs = list(index.skills)
        if definition_vectors is None:
            definitions = [_definition_text(index.skills[s]) or s for s in self.skill_slugs]
            definition_vectors = dict(zip(self.skill_slugs, embed(definitions), strict=True))
        self.definition_vectors = definition_vectors
        self.positions = {s: index.positions(skill=s) for s in self.skill_slugs}
        self._other_best = {
            s: np.flatnonzero(
                (index.skill_of != s)
                & np.array([index.label_of[i] == (index.labels_by_skill.get(index.skill_of[i]) or [""])[0] for i in range(len(index))], dtype=bool)
            )
            if len(index)
            else np.zeros(0, dtype=int)
            for s in self.skill_slugs
        }
        self._cue_counts = [
            cue_matches(text=str(e.get("utterance", "")), skill=str(e.get("skill", ""))) for e in index.exemplars
        ]
        self.models: dict[tuple[str, ...], _ScaledLogistic | None] = {}
        self._train()

    # -- features --------------------------------------------------------

    def _features(
        self, *, skill: str, sims: np.ndarray, def_sim: float, n_pos: int, n_neg: int, exclude: int | None = None
    ) -> np.ndarray:
        """``sims``: cosine of the utterance to every exemplar of the index."""
        labels = self.index.labels_by_skill[skill]
        positions = self.positions[skill]
        if exclude is not None:
            positions = positions[positions != exclude]
        votes = np.zeros(len(labels), dtype=np.float64)
        best = np.zeros(len(labels), dtype=np.float64)
        if positions.size:
            skill_sims = sims[positions]
            top = np.argsort(-skill_sims)[:KNN_K]
            weights = np.exp((skill_sims[top] - skill_sims[top].max()) / KNN_TEMPERATURE)
            for w, p in zip(weights, positions[top], strict=True):
                label = self.index.label_of[p]
                if label in labels:
                    votes[labels.index(label)] += w
            votes = (votes + 0.05) / (votes.sum() + 0.05 * len(labels))  # smoothed: a label never seen is not impossible
            for i, label in enumerate(labels):
                of_label = positions[self.index.label_of[positions] == label]
                if of_label.size:
                    best[i] = float(sims[of_label].max())
        # Doing another skill well is evidence of *not* doing this one (an
        # "I feel" line is usually absent on Assert): how much closer the
        # utterance is to other skills' best exemplars than to this skill's.
        others = self._other_best[skill]
        if exclude is not None:
            others = others[others != exclude]
        other_best = float(sims[others].max()) if others.size else 0.0
        # Clean use of the skill (its cues, none undermining it) and no trace
        # of it at all are the two patterns strong and absent rest on.
        cues = [min(n_pos, 3), min(n_neg, 3), float(n_pos > 0), float(n_neg > 0),
                float(n_pos > 0 and n_neg == 0), float(n_pos == 0 and n_neg == 0)]
        return np.concatenate([votes, best, [def_sim, other_best, other_best - best[0]], cues])

    # -- training --------------------------------------------------------

    def _train(self) -> None:
        groups: dict[tuple[str, ...], list[str]] = {}
        for skill in self.skill_slugs:
            groups.setdefault(tuple(self.index.labels_by_skill[skill]), []).append(skill)
        all_sims = self.index.utterance_vectors @ self.index.utterance_vectors.T if len(self.index) else np.zeros((0, 0))
        for labels, skills in groups.items():
            rows, targets = [], []
            for skill in skills:
                def_vec = self.definition_vectors[skill]
                for p in self.positions[skill]:
                    label = self.index.label_of[p]
                    if label not in labels:
                        continue
                    n_pos, n_neg = (len(c) for c in self._cue_counts[p])
                    def_sim = float(self.index.utterance_vectors[p] @ def_vec)
                    rows.append(
                        self._features(skill=skill, sims=all_sims[p], def_sim=def_sim, n_pos=n_pos, n_neg=n_neg, exclude=p)
                    )
                    targets.append(label)
            if len(rows) < _MIN_ROWS_FOR_MODEL or len(set(targets)) < 2:
                self.models[labels] = None  # too little to learn from: kNN votes decide
                continue
            x = np.vstack(rows)
            scaler = StandardScaler().fit(x)
            model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
            model.fit(scaler.transform(x), targets)
            self.models[labels] = _ScaledLogistic.from_fitted(scaler=scaler, model=model)

    # -- prediction ------------------------------------------------------

    def predict(
        self, *, skill: str, text: str, vector: np.ndarray, sims: np.ndarray | None = None, evidence: Evidence | None = None
    ) -> SkillPrediction:
        """Label ``text`` (embedded as ``vector``) for ``skill``.

        ``sims`` (cosine to every exemplar) may be passed in so one matrix
        product serves every skill of the framework. ``evidence``: the
        skill's specific evidence (skill_evidence, DEAR MAN skills): when
        given, it decides presence and quality, and the exemplars only
        override it for a near-duplicate of an expert-rated utterance (an
        instructor's correction).
        """
        if sims is None:
            sims = self.index.utterance_vectors @ vector
        labels = self.index.labels_by_skill[skill]
        positive, negative = cue_matches(text=text, skill=skill)
        positions = self.positions[skill]
        if positions.size:
            nearest = int(positions[np.argmax(sims[positions])])
            if sims[nearest] >= NEAR_DUPLICATE and self.index.label_of[nearest] in labels:
                label = str(self.index.label_of[nearest])
                probabilities = {lbl: (float(sims[nearest]) if lbl == label else 0.0) for lbl in labels}
                return SkillPrediction(label, float(sims[nearest]), probabilities, positive, negative, nearest)
        if evidence is not None and {"strong", "weak", "absent"} <= set(labels):
            label, confidence = evidence_label(evidence=evidence)
            rest = (1.0 - confidence) / (len(labels) - 1)
            probabilities = {lbl: (confidence if lbl == label else rest) for lbl in labels}
            return SkillPrediction(label, confidence, probabilities, list(evidence.present), list(evidence.weak), None)
        def_sim = float(vector @ self.definition_vectors[skill])
        features = self._features(skill=skill, sims=sims, def_sim=def_sim, n_pos=len(positive), n_neg=len(negative))
        trained = self.models.get(tuple(labels))
        if trained is None:
            probabilities = dict(zip(labels, features[: len(labels)].tolist(), strict=True))
        else:
            proba = trained.predict_proba(features)
            probabilities = {lbl: 0.0 for lbl in labels}
            probabilities.update({c: float(p) for c, p in zip(trained.classes, proba, strict=True)})
        probabilities = _with_cue_prior(probabilities=probabilities, skill=skill, n_pos=len(positive), n_neg=len(negative))
        label = max(probabilities, key=probabilities.get)
        return SkillPrediction(label, float(probabilities[label]), probabilities, positive, negative, None)


class _ScaledLogistic:
    """A fitted StandardScaler + LogisticRegression as plain arrays.

    Why: sklearn validates its input on every call (~1 ms for one row); the
    worker predicts every skill of every turn, so the arithmetic is done here
    (the same formula sklearn uses: softmax of the linear scores, or the
    logistic function for two classes)."""

    def __init__(self, *, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: np.ndarray, classes: list[str]):
        self.mean, self.scale, self.coef, self.intercept, self.classes = mean, scale, coef, intercept, classes

    @classmethod
    def from_fitted(cls, *, scaler: StandardScaler, model: LogisticRegression) -> _ScaledLogistic:
        return cls(mean=scaler.mean_.astype(np.float64), scale=scaler.scale_.astype(np.float64),
                   coef=model.coef_.astype(np.float64), intercept=model.intercept_.astype(np.float64),
                   classes=[str(c) for c in model.classes_])

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        scores = ((np.asarray(features, dtype=np.float64) - self.mean) / self.scale) @ self.coef.T + self.intercept
        if self.coef.shape[0] == 1:  # two classes: one score for the second
            positive = 1.0 / (1.0 + np.exp(-scores[0]))
            return np.array([1.0 - positive, positive])
        scores = scores - scores.max()
        exp = np.exp(scores)
        return exp / exp.sum()


def _with_cue_prior(*, probabilities: dict[str, float], skill: str, n_pos: int, n_neg: int) -> dict[str, float]:
    """Tilt toward strong when the skill's cue is used cleanly, toward absent when no trace of it.

    The pooled regression learns cue weights shared by all skills, which
    dilutes them; a skill's own lexicon deserves a direct say. Only for
    skills with a lexicon and the strong/weak/absent scale.
    """
    if skill_cues(skill=skill).positive is None or not {"strong", "absent"} <= set(probabilities):
        return probabilities
    tilted = dict(probabilities)
    if n_pos and not n_neg:
        tilted["strong"] *= CUE_PRIOR
    elif not n_pos and not n_neg:
        tilted["absent"] *= CUE_PRIOR
    elif n_neg and "weak" in tilted:
        tilted["weak"] *= CUE_PRIOR
    total = sum(tilted.values()) or 1.0
    return {label: value / total for label, value in tilted.items()}


def leave_one_out_accuracy(*, index: ExemplarIndex) -> dict[str, float]:
    """Accuracy per skill (and "overall") with each exemplar held out in turn.

    The held-out exemplar is removed from the kNN votes *and* from the
    logistic regression's training data (the classifier is retrained without
    it), so the figure is honest for a new utterance.
    """
    full = RubricClassifier(index=index)
    hits: dict[str, list[bool]] = {}
    for held_out in range(len(index)):
        skill = str(index.skill_of[held_out])
        if skill not in index.skills:
            continue
        classifier = RubricClassifier(index=index.without(position=held_out), definition_vectors=full.definition_vectors)
        prediction = classifier.predict(
            skill=skill, text=str(index.exemplars[held_out]["utterance"]), vector=index.utterance_vectors[held_out]
        )
        hits.setdefault(skill, []).append(prediction.label == index.label_of[held_out])
    result = {skill: float(np.mean(v)) for skill, v in hits.items()}
    every = [h for v in hits.values() for h in v]
    result["overall"] = float(np.mean(every)) if every else 0.0
    return result
