"""Assessor dispatch, caching by content, and the assessment engine status."""

from __future__ import annotations

import pytest

from feedback.engines import registry
from feedback.engines.assessment_status import assessment_status
from feedback.engines.llm_settings import AssessmentLlmConfig
from tests.feedback.engines.frameworks import dear_man, starter_framework


def test_skill_rubric_is_offline_without_an_llm(monkeypatch):
    monkeypatch.setattr(registry, "assessment_llm_config", lambda: None)
    assessor = registry.assessor_for(framework=dear_man())
    assert assessor.backend == "offline-embeddings"
    result = assessor.assess(utterance="I feel worried about Friday.", context=[])
    assert result.kind == "skill-rubric" and result.items


def test_skill_rubric_uses_the_llm_when_configured(monkeypatch):
    config = AssessmentLlmConfig(base_url="http://127.0.0.1:9/v1", api_key="k", model="m", timeout_s=1, retries=0)
    monkeypatch.setattr(registry, "assessment_llm_config", lambda: config)
    assert registry.assessor_for(framework=dear_man()).backend == "llm:m"


def test_assessors_are_cached_by_content(monkeypatch):
    monkeypatch.setattr(registry, "assessment_llm_config", lambda: None)
    framework = dear_man()
    first = registry.assessor_for(framework=framework)
    assert registry.assessor_for(framework=dear_man()) is first
    framework["exemplars"].append({"skill": "express", "label": "strong", "utterance": "I feel let down.", "feedback": "x"})
    assert registry.assessor_for(framework=framework) is not first


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(registry.AssessorUnavailable, match="unknown kind"):
        registry.assessor_for(framework={"slug": "x", "kind": "astrology", "skills": [], "exemplars": []})


def test_behaviour_coding_dispatches_to_the_coder_or_says_why_not():
    framework = starter_framework("mi") or {"slug": "mi", "kind": "behaviour-coding", "skills": [], "exemplars": []}
    from feedback.engines.behaviour_coding import BehaviourCoder

    assert isinstance(registry.assessor_for(framework=framework), BehaviourCoder)


@pytest.mark.skipif(starter_framework("cbt-formulation") is None, reason="starter formulation framework not present")
def test_formulation_assessor_names_the_field_a_question_elicits():
    assessor = registry.assessor_for(framework=starter_framework("cbt-formulation"))
    result = assessor.assess(utterance="At that moment, what went through your mind?", context=[])
    assert result.kind == "formulation"
    best = max(result.items, key=lambda i: (i.label == "complete", i.confidence))
    assert best.skill == "automatic-thoughts"


@pytest.mark.skipif(starter_framework("cbt-formulation") is None, reason="starter formulation framework not present")
def test_formulation_embeds_the_utterance_once(monkeypatch):
    """The field's nearest question is found with the rubric's own query vectors: embedding the utterance a
    second time was ~6 ms of a CBT turn (docs/performance.md, session 9, fbbatch)."""
    from feedback.engines import retrieval

    assessor = registry.assessor_for(framework=starter_framework("cbt-formulation"))
    calls = []
    real = retrieval.embed_with_spans
    monkeypatch.setattr(retrieval, "embed_with_spans", lambda **kw: calls.append(kw["text"]) or real(**kw))
    said = "What was going through your mind right at that moment?"
    result = assessor.assess(utterance=said, context=[{"speaker": "patient", "text": "I froze."}])
    assert calls == [said] and result.kind == "formulation"


def test_status_is_offline_without_llm_and_not_production(monkeypatch):
    import feedback.engines.assessment_status as status

    monkeypatch.setattr(status, "assessment_llm_config", lambda: None)
    report = assessment_status()
    assert (report.engine, report.backend, report.production, report.ok) == ("assessment", "offline-embeddings", False, True)


def test_status_with_unreachable_llm_says_it_falls_back(monkeypatch):
    import feedback.engines.assessment_status as status

    config = AssessmentLlmConfig(base_url="http://127.0.0.1:9/v1", api_key="k", model="m", timeout_s=1, retries=0)
    monkeypatch.setattr(status, "assessment_llm_config", lambda: config)
    monkeypatch.setitem(status._last_outcome, "at", 0.0)
    report = assessment_status()
    assert report.production is False and "unreachable" in report.detail
