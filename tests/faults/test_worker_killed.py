"""A Celery worker SIGKILLed in the middle of its work: once a new worker starts, the work is
done exactly once (no lost turn, no second assessment, no second reply).

"In the middle" is known, not guessed: the feedback worker is killed while the assessor's
LLM request is open (the loopback LLM answers after 4 s); the speech worker is killed while
its clip is claimed and before any turn exists (checked after the kill). The recording
pipeline's stage kill is tests/feedback/test_recording_worker.py.
"""

from __future__ import annotations

import time

import pytest

from feedback.models import Assessment, AssessmentRequest
from simulations.models import Turn, VoiceClip
from tests.faults.conftest import assessor_reply
from tests.faults.page import voice_upload, wait_until
from tests.support.chat_server import ChatBehaviour
from tests.support.speech import speech_synthesize, speech_tools_available

pytestmark = [pytest.mark.production, pytest.mark.slow]


def test_feedback_worker_killed_mid_assessment_assesses_the_turn_once_on_the_new_worker(app_stack, practice):
    stack = app_stack
    stack.assessor_llm.behaviour = ChatBehaviour(replies=[assessor_reply("dear-man")], first_token_delay_s=4.0)
    page = practice["open_page"]()
    earlier = len(stack.assessor_llm.chat_requests)  # the server serves the whole folder
    text = "I would like a raise of two thousand pounds from April, please."
    client_id = page.send_turn(text)
    turn_id = page.wait_for("turn", client_id=client_id, timeout=30).data["turn_id"]

    def asked() -> int:
        return sum(text in r.raw for r in stack.assessor_llm.chat_requests[earlier:])

    wait_until(asked, timeout=60, what="the assessor's LLM request for the turn")
    stack.kill("feedback")
    request = AssessmentRequest.objects.get(turn_id=turn_id)
    assert request.status == "running" and request.attempts == 1, "killed before or after the assessment"
    assert not Assessment.objects.filter(turn_id=turn_id).exists()

    stack.assessor_llm.behaviour = ChatBehaviour(replies=[assessor_reply("dear-man")])
    stack.start("feedback")
    ready = time.time()
    page.wait_for("feedback", turn_id=turn_id, timeout=150)  # the new worker builds its assessor first
    recovered_s = time.time() - ready
    time.sleep(3)  # a second assessment would be claimed by now (sweep every 1 s, lease 3 s)

    request.refresh_from_db()
    assert request.status == "done" and request.attempts == 2  # the killed claim, and the new worker's
    assert Assessment.objects.filter(turn_id=turn_id).count() == 1
    assert len(page.received("feedback", turn_id=turn_id)) == 1
    assert asked() == 2
    assert Turn.objects.filter(session=practice["session"], speaker="trainee").count() == 1
    assert Turn.objects.filter(reply_to_id=turn_id).count() == 1
    print(f"feedback worker killed mid-assessment: assessed once, {recovered_s:.1f} s after the new worker was ready")


@pytest.mark.skipif(not speech_tools_available(), reason="espeak-ng and sox are needed")
def test_speech_worker_killed_mid_transcription_gives_one_turn_and_one_reply_on_the_new_worker(
    app_stack, practice, tmp_path
):
    stack, session = app_stack, practice["session"]
    wav = speech_synthesize(text="I have been feeling really tired at work lately", path=tmp_path / "turn.wav")
    page = practice["open_page"]()
    status, body = voice_upload(base_url=stack.url, session_id=session.pk, cookie=practice["cookie"],
                                audio=wav.read_bytes(), mime="audio/wav", client_id="clip-1")
    assert status == 202, body[:500]
    clip = VoiceClip.objects.get(session=session)

    # Claimed: the worker is loading the recognizer (its first clip) or transcribing.
    wait_until(lambda: VoiceClip.objects.filter(pk=clip.pk, status="processing").exists(), timeout=60,
               what="the speech worker to claim the clip")
    stack.kill("speech")
    assert not Turn.objects.filter(session=session, speaker="trainee").exists(), "killed after the transcript"
    assert VoiceClip.objects.get(pk=clip.pk).status == "processing"

    stack.start("speech")
    ready = time.time()
    turn_id = page.wait_for("transcript", clip_id=clip.pk, timeout=120).data["turn_id"]
    page.wait_for("reply-done", reply_for=turn_id, timeout=120)
    recovered_s = time.time() - ready
    time.sleep(3)  # a duplicate delivery (sweep every 1 s, lease 3 s) would have shown by now

    clip.refresh_from_db()
    trainee_turns = list(Turn.objects.filter(session=session, speaker="trainee"))
    assert [t.pk for t in trainee_turns] == [turn_id] and trainee_turns[0].source == "voice"
    assert clip.status == "done" and clip.turn_id == turn_id and clip.transcript
    assert Turn.objects.filter(reply_to_id=turn_id).count() == 1
    assert len(page.received("transcript", clip_id=clip.pk)) == 1
    assert len(page.received("reply-done", reply_for=turn_id)) == 1
    print(f"speech worker killed mid-transcription: 1 turn, 1 reply, {recovered_s:.1f} s after the new worker was ready")
