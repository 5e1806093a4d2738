"""Teaching-feedback engine: is a trainer's utterance feedback, what set it
off, what kind it is, and how did the trainee respond.

Offline: similarity-weighted kNN over the framework's exemplars (with the
preceding turn mixed into the vector, because a trigger lives in what came
before) plus lexical cues. An instructor's correction of an utterance with
nearly the same words (correction_memory) takes precedence over both. ``type`` is multi-label (a line can be technical
and praise at once). ``response`` is read from the turns *after* the
utterance: context entries marked ``"after": True`` (recording analysis
knows them), classified against the response exemplars, whose utterances are
trainee replies.
"""

from __future__ import annotations

import copy
import re

import numpy as np

from feedback.engines.correction_memory import CorrectionMemory
from feedback.engines.fingerprint import FingerprintCache
from feedback.engines.retrieval import ExemplarIndex, exemplar_index_for
from feedback.engines.text_spans import context_tail
from feedback.engines.types import SkillAssessment, UtteranceAssessment

BACKEND = "offline-embeddings"
_TEMPERATURE = 0.05
_K = 7
_CUE_WEIGHT = 0.35  # a matching cue adds this much to a code's vote share
_TYPE_THRESHOLD = 0.3  # a secondary type code is reported from this share

_rx = lambda *p: re.compile(r"\b(?:" + "|".join(p) + r")\b", re.IGNORECASE)  # noqa: E731

TYPE_CUES = {
    "anatomic": _rx(r"artery", r"vein", r"duct", r"nerve", r"ureter", r"bowel", r"liver", r"plane", r"fascia", r"tissue",
                    r"peritoneum", r"vessel", r"muscle", r"tendon", r"colon", r"uterus", r"carotid", r"gallbladder", r"mesentery"),
    "procedural": _rx(r"first", r"next", r"then", r"before (?:you|we)", r"after (?:that|you)", r"now (?:we|you)", r"step",
                      r"let'?s", r"we'?ll"),
    "technical": _rx(r"angle", r"tension", r"grip", r"hold", r"pull", r"push", r"rotate", r"wrist", r"gentle|gently", r"lighter",
                     r"bite", r"throw", r"needle", r"traction", r"retract\w*", r"camera", r"slow(?:ly|er)?", r"faster", r"hand"),
    "praise": _rx(r"good", r"nice", r"great", r"well done", r"lovely", r"perfect", r"excellent", r"better", r"that'?s it",
                  r"doing (?:fine|well|great)"),
    "criticism": _rx(r"no,", r"don'?t", r"stop", r"wrong", r"too (?:close|far|much|hard|deep)", r"you'?re (?:forcing|pulling|drifting)",
                     r"careful", r"never", r"not like that", r"wait"),
    "visual-aid": _rx(r"look", r"see (?:where|how|that|this|it)", r"watch", r"there,", r"here,", r"on the screen", r"my (?:finger|instrument)",
                      r"notice"),
}
# Sequencing words ("next", "then") are as common in requests to the room as in feedback.
FEEDBACK_CUES = re.compile("|".join(p.pattern for c, p in TYPE_CUES.items() if c != "procedural"), re.IGNORECASE)
NOT_FEEDBACK_CUES = _rx(r"please", r"can (?:someone|we have)", r"what time", r"bleep", r"ring", r"scrub out", r"the match", r"weekend")

TRIGGER_CUES = {
    "question": lambda before: before.rstrip().endswith("?"),
    "milestone": lambda before: bool(re.search(r"\b(?:done|finished|is in|is out|'s in|'s out|last (?:stitch|one)|off the|all in)\b", before, re.I)),
    "error": lambda before: bool(re.search(r"\b(?:sorry|oops|ugh|lost|I'?ll|I'?m going to|cutting|starting|going straight)\b", before, re.I)),
    "unprompted": lambda before: not before.strip(),
}

_ACTION_SPEAKERS = {"action", "note", "event", "video"}
RESPONSE_CUES = {
    "clarification": lambda text: text.rstrip().endswith("?") or bool(re.match(r"\s*(?:do you mean|which|like this|sorry,? what|as in)\b", text, re.I)),
    "verbal-acknowledgment": lambda text: bool(re.match(r"\s*(?:okay|ok|got it|yes|yep|yeah|sure|right|understood|thanks|thank you|noted|will do|mm+|sorry)\b", text, re.I))
    and len(text.split()) <= 6,
    "behaviour-adjustment": lambda text: bool(re.search(
        r"\b(?:adjusting|easing|moving|switching|rotating|reloading|repositioning|coming (?:back|in|up)|taking it|going (?:back|in)|"
        r"reversing|swapping|changing|re-?doing|retracting|lightening|slowing)\b|^\s*[\[(*].+[\])*]\s*$", text, re.I)),
}


def teaching_training_framework(*, framework: dict) -> dict:
    """The framework with every trigger/type exemplar also counted as is-feedback "yes".

    Those utterances are feedback by construction; without them is-feedback
    would learn from a handful of positives.
    """
    derived = copy.deepcopy(framework)
    extra = []
    for exemplar in framework.get("exemplars") or []:
        if exemplar.get("skill") in {"trigger", "type"}:
            extra.append({**exemplar, "skill": "is-feedback", "label": "yes", "id": None})
    derived["exemplars"] = list(derived.get("exemplars") or []) + extra
    derived["slug"] = f"{framework.get('slug', '')}+feedback-positives"
    return derived


def _votes(*, index: ExemplarIndex, family: str, vector: np.ndarray, use_retrieval: bool) -> dict[str, float]:
    labels = index.labels_by_skill.get(family) or []
    positions = index.positions(skill=family)
    shares = {label: 0.0 for label in labels}
    if not positions.size:
        return shares
    matrix = index.retrieval_vectors if use_retrieval else index.utterance_vectors
    sims = matrix[positions] @ vector
    top = np.argsort(-sims)[:_K]
    weights = np.exp((sims[top] - sims[top].max()) / _TEMPERATURE)
    for w, p in zip(weights, positions[top], strict=True):
        shares[str(index.label_of[p])] = shares.get(str(index.label_of[p]), 0.0) + float(w)
    total = sum(shares.values()) or 1.0
    return {label: value / total for label, value in shares.items()}


def _decided(shares: dict[str, float], cue_hits: set[str]) -> tuple[str, float, dict[str, float]]:
    scored = {label: share + (_CUE_WEIGHT if label in cue_hits else 0.0) for label, share in shares.items()}
    total = sum(scored.values()) or 1.0
    scored = {label: value / total for label, value in scored.items()}
    label = max(scored, key=scored.get)
    return label, scored[label], scored


_indexes = FingerprintCache(maxsize=16)


class TeachingFeedbackAssessor:
    kind = "teaching-feedback"
    backend = BACKEND

    def __init__(self, *, framework: dict) -> None:
        self.framework = framework
        self.index = _indexes.get_or_build(
            framework=framework, build=lambda: exemplar_index_for(framework=teaching_training_framework(framework=framework))
        )
        self.corrections = CorrectionMemory(framework=framework)

    def _corrected(self, *, family: str, utterance: str, context: list[dict], labels: list[str] | None = None):
        """The instructor's label for these words, when a correction of ``family`` is very close (else None)."""
        match = self.corrections.lookup(skill=family, utterance=utterance, context=context)
        if match is None:
            return None
        allowed = self.index.labels_by_skill.get(family) or []
        codes = [c.strip() for c in match.label.split(",") if c.strip()]
        if allowed and any(code not in allowed for code in codes):
            return None  # a label the framework no longer has
        return match

    def _item(self, *, family: str, label: str, confidence: float, evidence: str, suggestion: str, query, text: str) -> SkillAssessment:
        nearest = self.index.nearest(utterance=text, skill=family, k=3, query=query)
        return SkillAssessment(
            skill=family, label=label, confidence=round(confidence, 3), evidence=evidence, suggestion=suggestion, exemplars=nearest
        )

    def assess(self, *, utterance: str, context: list[dict] | None = None) -> UtteranceAssessment:
        context = context or []
        before = [t for t in context if not t.get("after")]
        after = [t for t in context if t.get("after")]
        query = self.index.query_vectors(utterance=utterance, context=before)
        items: list[SkillAssessment] = []
        labels: dict = {}

        shares = _votes(index=self.index, family="is-feedback", vector=query.utterance, use_retrieval=False)
        cue_hits = ({"yes"} if FEEDBACK_CUES.search(utterance) else set()) ^ (
            {"no"} if NOT_FEEDBACK_CUES.search(utterance) else set()
        )
        if len(cue_hits) > 1:
            cue_hits = set()  # contradictory cues: let the exemplars decide
        is_feedback, confidence, _ = _decided(shares, cue_hits)
        corrected = self._corrected(family="is-feedback", utterance=utterance, context=before)
        if corrected is not None:
            is_feedback, confidence = corrected.label, corrected.similarity
        labels["is-feedback"] = is_feedback
        items.append(self._item(
            family="is-feedback", label=is_feedback, confidence=confidence, evidence=utterance.strip() if is_feedback == "yes" else "",
            suggestion="Feedback to the trainee." if is_feedback == "yes" else "Not feedback on the trainee's performance.",
            query=query, text=utterance,
        ))
        if is_feedback != "yes":
            return UtteranceAssessment(
                framework=str(self.framework.get("slug", "")), kind=self.kind, backend=self.backend, items=items,
                feedback="Not teaching feedback.", labels=labels,
            )

        tail = context_tail(context=before)
        shares = _votes(index=self.index, family="trigger", vector=query.retrieval, use_retrieval=True)
        trigger_hits = {code for code, test in TRIGGER_CUES.items() if code in shares and test(tail)}
        trigger, confidence, _ = _decided(shares, trigger_hits)
        corrected = self._corrected(family="trigger", utterance=utterance, context=before)
        if corrected is not None:
            trigger, confidence = corrected.label, corrected.similarity
        labels["trigger"] = trigger
        items.append(self._item(
            family="trigger", label=trigger, confidence=confidence, evidence=tail if tail and tail in str(before[-1].get("text", "")) else "",
            suggestion=f"Prompted by: \u201c{tail}\u201d" if tail else "Given unprompted.", query=query, text=utterance,
        ))

        shares = _votes(index=self.index, family="type", vector=query.utterance, use_retrieval=False)
        type_hits = {code: TYPE_CUES[code].findall(utterance) for code in shares if code in TYPE_CUES}
        _, _, scored = _decided(shares, {c for c, found in type_hits.items() if found})
        top = max(scored, key=scored.get)
        chosen = sorted({top} | {c for c, s in scored.items() if s >= _TYPE_THRESHOLD or (type_hits.get(c) and s >= 0.15)})
        corrected = self._corrected(family="type", utterance=utterance, context=before)
        if corrected is not None:
            chosen = sorted({c.strip() for c in corrected.label.split(",") if c.strip()})
            scored = {**scored, **{c: corrected.similarity for c in chosen}}
        labels["type"] = chosen
        cue_words = [w for c in chosen for w in (type_hits.get(c) or [])]
        items.append(self._item(
            family="type", label=",".join(chosen), confidence=min(scored[c] for c in chosen) if chosen else 0.0,
            evidence=next((w for w in cue_words if w in utterance), ""),
            suggestion="Types: " + ", ".join(chosen) + ".", query=query, text=utterance,
        ))

        if after:
            response, confidence, evidence = self.response_of(following=after)
            corrected = self._corrected(family="response", utterance=utterance, context=before)
            if corrected is not None:
                response, confidence = corrected.label, corrected.similarity
            labels["response"] = response
            items.append(SkillAssessment(
                skill="response", label=response, confidence=round(confidence, 3), evidence="",
                suggestion=f"Trainee's next turn: \u201c{evidence}\u201d" if evidence else "No reply from the trainee.",
            ))
        summary = f"Feedback ({', '.join(labels['type'])}), triggered by {trigger}"
        if "response" in labels:
            summary += f"; trainee response: {labels['response']}"
        return UtteranceAssessment(
            framework=str(self.framework.get("slug", "")), kind=self.kind, backend=self.backend, items=items,
            feedback=summary + ".", labels=labels,
        )

    def response_of(self, *, following: list[dict]) -> tuple[str, float, str]:
        """(code, confidence, the trainee words it rests on) from the turns after the feedback.

        An action note (a turn whose speaker is action/note/event, or a
        bracketed stage direction) after silence or a short reply is a
        behaviour adjustment: the trainee changed what they did.
        """
        turns = [t for t in following if str(t.get("text", "")).strip() or str(t.get("speaker", "")).lower() in _ACTION_SPEAKERS]
        if any(str(t.get("speaker", "")).lower() in _ACTION_SPEAKERS for t in turns[:2]):
            note = next(str(t.get("text", "")) for t in turns[:2] if str(t.get("speaker", "")).lower() in _ACTION_SPEAKERS)
            return "behaviour-adjustment", 0.9, note
        spoken = next((str(t.get("text", "")).strip() for t in turns if str(t.get("text", "")).strip()), "")
        if not spoken:
            return "none", 0.6, ""
        vector = self.index.query_vectors(utterance=spoken).utterance
        shares = _votes(index=self.index, family="response", vector=vector, use_retrieval=False)
        hits = {code for code, test in RESPONSE_CUES.items() if code in shares and test(spoken)}
        if "behaviour-adjustment" in hits:
            hits.discard("verbal-acknowledgment")  # "Okay, easing off now" is an adjustment, not only an ack
        label, confidence, _ = _decided(shares, hits)
        return label, confidence, spoken
