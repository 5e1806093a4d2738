"""Expert-exemplar retrieval: nearest exemplars and contrastive strong/weak
pairs for an utterance, over sentence embeddings.

Each exemplar is embedded once when its framework's index is built (its
utterance alone, and its context tail, combined into a retrieval vector);
indexes are cached by framework slug + content hash, so an instructor
correction that adds an exemplar is picked up by the next query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from feedback.engines.fingerprint import FingerprintCache, exemplar_id, framework_fingerprint
from feedback.engines.span_embeddings import embed_cached, embed_with_spans
from feedback.engines.text_spans import context_tail
from feedback.engines.types import AlignedExemplar
from trainer_app.engines.embeddings import EMBEDDING_DIM, embed

# How much the preceding turn pulls the retrieval vector: enough to prefer
# exemplars said in a similar moment, not so much that the topic of the
# partner's line outweighs what the trainee said.
CONTEXT_WEIGHT = 0.3


@dataclass
class QueryVectors:
    """An utterance embedded once and reused for every skill."""

    utterance: np.ndarray  # (dim,) the utterance alone: what classifiers use
    retrieval: np.ndarray  # (dim,) utterance + context tail: what retrieval uses
    spans: list[str] = field(default_factory=list)  # extra texts embedded in the same batch
    span_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, EMBEDDING_DIM), dtype=np.float32))


def _combined(utterance_vec: np.ndarray, context_vec: np.ndarray | None) -> np.ndarray:
    if context_vec is None:
        return utterance_vec
    mixed = utterance_vec + CONTEXT_WEIGHT * context_vec
    return (mixed / max(float(np.linalg.norm(mixed)), 1e-9)).astype(np.float32)


def skill_labels(*, framework: dict, skill: dict) -> list[str]:
    return list(skill.get("labels") or framework.get("labels") or ["strong", "weak", "absent"])


class ExemplarIndex:
    def __init__(self, *, framework: dict) -> None:
        self.framework_slug = str(framework.get("slug", ""))
        self.fingerprint = framework_fingerprint(framework=framework)
        self.skills: dict[str, dict] = {s["slug"]: s for s in framework.get("skills") or []}
        self.labels_by_skill = {slug: skill_labels(framework=framework, skill=s) for slug, s in self.skills.items()}
        self.exemplars: list[dict] = []
        self.ids: list[str] = []
        for index, exemplar in enumerate(framework.get("exemplars") or []):
            if not str(exemplar.get("utterance", "")).strip():
                continue
            self.exemplars.append(exemplar)
            self.ids.append(exemplar_id(framework_slug=self.framework_slug, exemplar=exemplar, index=index))
        self.skill_of = np.array([str(e.get("skill", "")) for e in self.exemplars], dtype=object)
        self.label_of = np.array([str(e.get("label", "")) for e in self.exemplars], dtype=object)
        texts = [str(e["utterance"]) for e in self.exemplars]
        tails = [context_tail(context=e.get("context") or []) for e in self.exemplars]
        tail_texts = sorted({t for t in tails if t})
        vectors = embed(texts + tail_texts)  # one batch for the whole framework
        self.utterance_vectors = vectors[: len(texts)]
        tail_vec = {t: vectors[len(texts) + i] for i, t in enumerate(tail_texts)}
        self.retrieval_vectors = (
            np.stack([_combined(u, tail_vec.get(t)) for u, t in zip(self.utterance_vectors, tails, strict=True)])
            if texts
            else np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        )

    def without(self, *, position: int) -> ExemplarIndex:
        """A copy missing one exemplar, sharing vectors (no re-embedding): for leave-one-out."""
        keep = np.array([i for i in range(len(self.exemplars)) if i != position], dtype=int)
        reduced = ExemplarIndex.__new__(ExemplarIndex)
        reduced.framework_slug = self.framework_slug
        reduced.fingerprint = f"{self.fingerprint}-without-{position}"
        reduced.skills = self.skills
        reduced.labels_by_skill = self.labels_by_skill
        reduced.exemplars = [self.exemplars[i] for i in keep]
        reduced.ids = [self.ids[i] for i in keep]
        reduced.skill_of = self.skill_of[keep]
        reduced.label_of = self.label_of[keep]
        reduced.utterance_vectors = self.utterance_vectors[keep]
        reduced.retrieval_vectors = self.retrieval_vectors[keep]
        return reduced

    def __len__(self) -> int:
        return len(self.exemplars)

    # -- queries ---------------------------------------------------------

    def query_vectors(self, *, utterance: str, context: list[dict] | None = None, spans: list[str] | None = None) -> QueryVectors:
        """Embed the utterance and its spans in one model pass; the context tail is cached."""
        spans = [s for s in (spans or []) if s and s != utterance and s in utterance]
        vector, span_vectors = embed_with_spans(text=utterance, spans=spans)
        tail = context_tail(context=context or [])
        context_vec = embed_cached(text=tail) if tail else None
        return QueryVectors(
            utterance=vector,
            retrieval=_combined(vector, context_vec),
            spans=[utterance] + spans,
            span_vectors=np.vstack([vector.reshape(1, -1), span_vectors]) if spans else vector.reshape(1, -1),
        )

    def aligned(self, *, position: int, similarity: float) -> AlignedExemplar:
        exemplar = self.exemplars[position]
        return AlignedExemplar(
            exemplar_id=self.ids[position],
            skill=str(exemplar.get("skill", "")),
            label=str(exemplar.get("label", "")),
            utterance=str(exemplar.get("utterance", "")),
            feedback=str(exemplar.get("feedback", "") or ""),
            rewrite=str(exemplar.get("rewrite", "") or ""),
            similarity=round(float(similarity), 4),
        )

    def positions(self, *, skill: str | None = None, labels: set[str] | None = None) -> np.ndarray:
        mask = np.ones(len(self.exemplars), dtype=bool)
        if skill is not None:
            mask &= self.skill_of == skill
        if labels is not None:
            mask &= np.isin(self.label_of, list(labels))
        return np.flatnonzero(mask)

    def _ranked(self, *, query: QueryVectors, positions: np.ndarray) -> list[tuple[int, float]]:
        if positions.size == 0:
            return []
        sims = self.retrieval_vectors[positions] @ query.retrieval
        order = np.argsort(-sims, kind="stable")
        return [(int(positions[i]), float(sims[i])) for i in order]

    def nearest(
        self,
        *,
        utterance: str,
        context: list[dict] | None = None,
        skill: str | None = None,
        k: int = 4,
        query: QueryVectors | None = None,
    ) -> list[AlignedExemplar]:
        query = query or self.query_vectors(utterance=utterance, context=context)
        ranked = self._ranked(query=query, positions=self.positions(skill=skill))
        return [self.aligned(position=p, similarity=s) for p, s in ranked[:k]]

    def contrastive_pairs(
        self,
        *,
        utterance: str,
        context: list[dict] | None = None,
        skill: str,
        k: int = 2,
        query: QueryVectors | None = None,
    ) -> list[tuple[AlignedExemplar, AlignedExemplar]]:
        """Up to k (strong, weak) pairs of ``skill`` close to the utterance.

        The skill's first label is its best ("strong"); its second, when
        present, is the near miss ("weak") and is preferred over worse labels,
        because strong-vs-weak shows the trainee the smallest change that
        matters. Each weak exemplar close to the utterance is paired with the
        strong exemplar closest to both it and the utterance, so pairs tend
        to be minimal contrasts on the same moment.
        """
        labels = self.labels_by_skill.get(skill) or ["strong", "weak", "absent"]
        best = labels[0]
        query = query or self.query_vectors(utterance=utterance, context=context)
        strong = self._ranked(query=query, positions=self.positions(skill=skill, labels={best}))
        contrast: list[tuple[int, float]] = []
        for label in labels[1:]:  # near misses first
            contrast.extend(self._ranked(query=query, positions=self.positions(skill=skill, labels={label})))
            if len(contrast) >= k:
                break
        if not strong or not contrast:
            return []
        contrast = sorted(contrast, key=lambda ps: -ps[1])[: max(k, 1) * 2]
        pairs: list[tuple[AlignedExemplar, AlignedExemplar]] = []
        used_strong: set[int] = set()
        for weak_pos, weak_sim in contrast:
            candidates = [(p, s) for p, s in strong if p not in used_strong] or strong
            scored = [
                (s + float(self.retrieval_vectors[p] @ self.retrieval_vectors[weak_pos]), p, s) for p, s in candidates
            ]
            _, strong_pos, strong_sim = max(scored)
            used_strong.add(strong_pos)
            pairs.append(
                (self.aligned(position=strong_pos, similarity=strong_sim), self.aligned(position=weak_pos, similarity=weak_sim))
            )
            if len(pairs) >= k:
                break
        return pairs


_indexes = FingerprintCache(maxsize=32)


def exemplar_index_for(*, framework: dict) -> ExemplarIndex:
    """The framework's index, rebuilt when its skills or exemplars change."""
    return _indexes.get_or_build(framework=framework, build=lambda: ExemplarIndex(framework=framework))
