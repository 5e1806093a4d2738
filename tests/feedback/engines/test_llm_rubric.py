"""LLM skill-rubric backend against a real loopback OpenAI-compatible server."""

from __future__ import annotations

import json
import socket

import pytest

from feedback.engines.llm_rubric import LlmSkillRubricAssessor, reply_problems
from feedback.engines.llm_settings import AssessmentLlmConfig
from tests.feedback.engines.frameworks import dear_man
from tests.support.chat_server import ChatBehaviour, ChatServer

UTTERANCE = "Since March I've done every weekend shift. Would you share them out from next month?"


def _valid_reply(framework: dict, *, label: str = "strong") -> str:
    items = [
        {
            "skill": s["slug"],
            "label": label if s["slug"] == "assert" else "absent",
            "confidence": 0.8,
            "evidence": "Would you share them out from next month?" if s["slug"] == "assert" else "",
            "suggestion": f"About {s['slug']}: keep going.",
            "rewrite": "",
        }
        for s in framework["skills"]
    ]
    return json.dumps({"items": items, "feedback": "Clear request."})


def _config(base_url: str) -> AssessmentLlmConfig:
    return AssessmentLlmConfig(base_url=base_url, api_key="k", model="test-model", timeout_s=5, retries=1)


def test_valid_json_is_used_with_the_retrieved_exemplars_in_the_prompt():
    framework = dear_man()
    with ChatServer(ChatBehaviour(replies=[_valid_reply(framework, label="weak")])) as server:
        result = LlmSkillRubricAssessor(framework=framework, config=_config(server.base_url)).assess(
            utterance=UTTERANCE, context=[{"speaker": "partner", "text": "What's up?"}]
        )
        prompt = json.dumps(server.chat_requests[0].body["messages"])
    assert result.backend == "llm:test-model"
    assert next(i for i in result.items if i.skill == "assert").label == "weak"
    assert next(i for i in result.items if i.skill == "assert").exemplars
    assert "Contrast:" in prompt and "Expert-rated examples" in prompt
    assert UTTERANCE in prompt


def test_invalid_output_twice_falls_back_to_offline_and_says_so():
    framework = dear_man()
    with ChatServer(ChatBehaviour(replies=["Sure! The assert skill is strong.", '{"items": []}'])) as server:
        result = LlmSkillRubricAssessor(framework=framework, config=_config(server.base_url)).assess(
            utterance=UTTERANCE, context=[]
        )
        requests = server.chat_requests
    assert len(requests) == 2
    assert "invalid" in requests[1].body["messages"][-1]["content"]
    assert result.backend.startswith("offline-embeddings (fallback from llm:test-model")
    assert len(result.items) == len(framework["skills"])


def test_invalid_then_valid_output_is_used():
    framework = dear_man()
    with ChatServer(ChatBehaviour(replies=["not json", _valid_reply(framework)])) as server:
        result = LlmSkillRubricAssessor(framework=framework, config=_config(server.base_url)).assess(
            utterance=UTTERANCE, context=[]
        )
    assert result.backend == "llm:test-model"


def test_unreachable_server_falls_back():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    result = LlmSkillRubricAssessor(framework=dear_man(), config=_config(f"http://127.0.0.1:{port}/v1")).assess(
        utterance=UTTERANCE, context=[]
    )
    assert "fallback" in result.backend and "request failed" in result.backend


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda d: d["items"].pop(), "cover each skill"),
        (lambda d: d["items"][0].update(label="excellent"), "schema"),
        (lambda d: d["items"][2].update(evidence="words nobody said"), "not words of the utterance"),
        (lambda d: d["items"][0].update(confidence=3), "schema"),
    ],
)
def test_reply_validation_names_the_problem(mutate, problem):
    framework = dear_man()
    data = json.loads(_valid_reply(framework))
    assert reply_problems(framework=framework, utterance=UTTERANCE, reply=json.dumps(data))[1] == ""
    mutate(data)
    parsed, why = reply_problems(framework=framework, utterance=UTTERANCE, reply=json.dumps(data))
    assert parsed is None and problem in why
