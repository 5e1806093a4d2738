"""LLM backend for skill rubrics: expert-aligned by retrieved exemplars.

The prompt carries the skill definitions and, per skill, the nearest expert
exemplars plus contrastive strong/weak pairs (IMBUE-style alignment). The
reply must be JSON valid against ``assessment_schema``; beyond the schema,
every skill must be present once, labels must be the skill's own and the
evidence must be words of the utterance. An invalid reply is retried with
the validation error; after that, or on any transport error, the offline
assessor answers and its backend name says it is a fallback.
"""

from __future__ import annotations

import json
import logging
import re

import jsonschema

from feedback.engines.llm_settings import AssessmentLlmConfig
from feedback.engines.retrieval import exemplar_index_for
from feedback.engines.skill_rubric import OfflineSkillRubricAssessor
from feedback.engines.types import AlignedExemplar, SkillAssessment, UtteranceAssessment

logger = logging.getLogger(__name__)

_NEAREST_K = 3
_PAIRS_K = 1


def assessment_schema(*, framework: dict) -> dict:
    """JSON schema of the reply, with the framework's skills and labels as enums."""
    labels = sorted(
        {lbl for s in framework.get("skills") or [] for lbl in (s.get("labels") or framework.get("labels") or [])}
    )
    return {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["skill", "label", "confidence", "evidence", "suggestion"],
                    "properties": {
                        "skill": {"enum": [s["slug"] for s in framework.get("skills") or []]},
                        "label": {"enum": labels},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                        "evidence": {"type": "string"},
                        "suggestion": {"type": "string", "minLength": 1},
                        "rewrite": {"type": "string"},
                    },
                },
            },
            "feedback": {"type": "string"},
        },
    }


def _exemplar_line(exemplar: AlignedExemplar) -> str:
    line = f'- [{exemplar.label}] "{exemplar.utterance}"'
    if exemplar.feedback:
        line += f" — expert: {exemplar.feedback}"
    if exemplar.rewrite:
        line += f' (better: "{exemplar.rewrite}")'
    return line


def prompt_messages(
    *, framework: dict, utterance: str, context: list[dict], retrieved: dict[str, list[AlignedExemplar]],
    pairs: dict[str, list[tuple[AlignedExemplar, AlignedExemplar]]],
) -> list[dict]:
    skills = framework.get("skills") or []
    lines = [
        f"You assess one utterance of a trainee practising {framework.get('name') or framework.get('slug')}: "
        f"{framework.get('description', '')}".strip(),
        "Rate the utterance on every skill below, the way the expert examples are rated.",
        "",
    ]
    for skill in skills:
        labels = skill.get("labels") or framework.get("labels") or []
        lines.append(f"## {skill['slug']} ({skill.get('name', skill['slug'])}); labels: {', '.join(labels)}")
        if skill.get("definition"):
            lines.append(f"Definition: {skill['definition']}")
        if skill.get("guidance"):
            lines.append(f"Guidance: {skill['guidance']}")
        for label, meaning in (skill.get("levels") or {}).items():
            lines.append(f"{label}: {meaning}")
        nearest = retrieved.get(skill["slug"]) or []
        if nearest:
            lines.append("Expert-rated examples most like this utterance:")
            lines.extend(_exemplar_line(e) for e in nearest)
        for strong, weak in pairs.get(skill["slug"]) or []:
            lines.append(f'Contrast: "{weak.utterance}" is {weak.label}; "{strong.utterance}" is {strong.label}.')
        lines.append("")
    lines += [
        "Reply with JSON only, no prose, of this shape:",
        '{"items": [{"skill": "<slug>", "label": "<one of the skill\'s labels>", "confidence": 0.0-1.0, '
        '"evidence": "<exact words copied from the utterance, or empty if the skill is absent>", '
        '"suggestion": "<specific advice quoting the trainee>", "rewrite": "<better wording, or empty>"}], '
        '"feedback": "<one short paragraph for the trainee>"}',
        "One item per skill, every skill exactly once.",
    ]
    conversation = "\n".join(f"{t.get('speaker', 'partner')}: {t.get('text', '')}" for t in context[-6:] if not t.get("after"))
    user = (f"Conversation so far:\n{conversation}\n\n" if conversation else "") + f"Trainee's utterance:\n{utterance}"
    return [{"role": "system", "content": "\n".join(lines)}, {"role": "user", "content": user}]


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def reply_problems(*, framework: dict, utterance: str, reply: str) -> tuple[dict | None, str]:
    """(parsed reply, "") when valid, else (None, what is wrong)."""
    text = _FENCE.sub("", reply.strip())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc}"
    try:
        jsonschema.validate(data, assessment_schema(framework=framework))
    except jsonschema.ValidationError as exc:
        path = "/".join(str(p) for p in exc.absolute_path)
        return None, f"schema: {path or '<root>'}: {exc.message}"
    skills = {s["slug"]: s for s in framework.get("skills") or []}
    seen = [item["skill"] for item in data["items"]]
    if sorted(seen) != sorted(skills):
        return None, f"items must cover each skill once: expected {sorted(skills)}, got {sorted(seen)}"
    for item in data["items"]:
        allowed = skills[item["skill"]].get("labels") or framework.get("labels") or []
        if item["label"] not in allowed:
            return None, f"{item['skill']}: label {item['label']!r} is not one of {allowed}"
        if item["evidence"] and item["evidence"].strip() not in utterance:
            return None, f"{item['skill']}: evidence {item['evidence']!r} is not words of the utterance"
    return data, ""


class LlmSkillRubricAssessor:
    kind = "skill-rubric"

    def __init__(self, *, framework: dict, config: AssessmentLlmConfig) -> None:
        from openai import OpenAI

        self.framework = framework
        self.config = config
        self.backend = f"llm:{config.model}"
        self.offline = OfflineSkillRubricAssessor(framework=framework)
        # No SDK-level retries: a slow or dead server must fall back quickly,
        # live feedback cannot wait for backoff.
        self.client = OpenAI(base_url=config.base_url, api_key=config.api_key, timeout=config.timeout_s, max_retries=0)

    def _fallback(self, *, utterance: str, context: list[dict], reason: str) -> UtteranceAssessment:
        from feedback.engines.assessment_status import llm_outcome_record

        llm_outcome_record(ok=False, detail=reason)
        logger.warning("assessment LLM %s: %s; using the offline assessor", self.config.model, reason)
        result = self.offline.assess(utterance=utterance, context=context)
        result.backend = f"{self.offline.backend} (fallback from {self.backend}: {reason[:120]})"
        return result

    def assess(self, *, utterance: str, context: list[dict] | None = None) -> UtteranceAssessment:
        from feedback.engines.assessment_status import llm_outcome_record

        context = context or []
        index = exemplar_index_for(framework=self.framework)
        query = index.query_vectors(utterance=utterance, context=context)
        retrieved, pairs = {}, {}
        for skill in index.skills:
            retrieved[skill] = index.nearest(utterance=utterance, context=context, skill=skill, k=_NEAREST_K, query=query)
            pairs[skill] = index.contrastive_pairs(utterance=utterance, context=context, skill=skill, k=_PAIRS_K, query=query)
        messages = prompt_messages(
            framework=self.framework, utterance=utterance, context=context, retrieved=retrieved, pairs=pairs
        )
        problem = ""
        for _attempt in range(1 + max(self.config.retries, 0)):
            try:
                response = self.client.chat.completions.create(
                    model=self.config.model, messages=messages, temperature=0
                )
            except Exception as exc:  # transport, HTTP or SDK errors: the server is not usable now
                return self._fallback(utterance=utterance, context=context, reason=f"request failed: {type(exc).__name__}: {exc}")
            reply = (response.choices[0].message.content or "") if response.choices else ""
            data, problem = reply_problems(framework=self.framework, utterance=utterance, reply=reply)
            if data is not None:
                llm_outcome_record(ok=True, detail="last reply valid")
                return self._assessment(data=data, retrieved=retrieved, pairs=pairs)
            # Tell the model what was wrong; a second try usually fixes format slips.
            messages = messages + [
                {"role": "assistant", "content": reply[:4000]},
                {"role": "user", "content": f"That reply was invalid ({problem}). Reply again with valid JSON only."},
            ]
        return self._fallback(utterance=utterance, context=context, reason=f"invalid output: {problem}")

    def _assessment(self, *, data: dict, retrieved: dict, pairs: dict) -> UtteranceAssessment:
        order = {s["slug"]: i for i, s in enumerate(self.framework.get("skills") or [])}
        items = []
        for item in sorted(data["items"], key=lambda i: order[i["skill"]]):
            aligned = list(retrieved.get(item["skill"]) or [])
            for pair in pairs.get(item["skill"]) or []:
                aligned += [e for e in pair if e.exemplar_id not in {a.exemplar_id for a in aligned}]
            items.append(
                SkillAssessment(
                    skill=item["skill"],
                    label=item["label"],
                    confidence=float(item["confidence"]),
                    evidence=item["evidence"].strip(),
                    suggestion=item["suggestion"],
                    rewrite=item.get("rewrite", "") or "",
                    exemplars=aligned,
                )
            )
        return UtteranceAssessment(
            framework=str(self.framework.get("slug", "")),
            kind=self.kind,
            backend=self.backend,
            items=items,
            feedback=data.get("feedback", "") or "",
        )
