"""A small world for the security tests: two cohorts, their instructors, an
outsider trainee, an admin, and trainee A's session with one assessed turn."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from simulations.services.sessions import practice_session_start
from tests.factories import CohortFactory, ExemplarFactory, FrameworkFactory, ScenarioFactory, UserFactory
from tests.feedback.live_support import assessment_make, turn_add
from tests.feedback.recording_support import recording_make


def world_make() -> dict:
    trainee = UserFactory(role="trainee")
    instructor = UserFactory(role="instructor")
    cohort = CohortFactory(owner=instructor, members=[trainee])
    other_trainee = UserFactory(role="trainee")
    other_instructor = UserFactory(role="instructor")
    CohortFactory(owner=other_instructor, members=[other_trainee])
    framework = FrameworkFactory()
    exemplar = ExemplarFactory(framework=framework)
    scenario = ScenarioFactory(frameworks=[framework.slug], cohorts=[cohort])
    session = practice_session_start(user=trainee, scenario=scenario)
    turn = turn_add(session=session, text="I'd like to talk about the rota.")
    assessment = assessment_make(turn=turn, framework=framework, labels={"describe": "weak", "assert": "absent"})
    recording = recording_make(cohort=cohort, uploader=instructor)
    return {
        "trainee": trainee,  # trainee A, owner of the session
        "instructor": instructor,  # A's instructor
        "other_trainee": other_trainee,  # trainee B, in another cohort
        "other_instructor": other_instructor,  # instructor of another cohort
        "admin": UserFactory(role="admin"),
        "cohort": cohort,
        "framework": framework,
        "exemplar": exemplar,
        "scenario": scenario,
        "persona": scenario.persona,
        "session": session,
        "item": assessment.items.get(skill="assert"),
        "recording": recording,  # of A's cohort, uploaded by A's instructor
        "recording_speaker": recording.speakers.first(),
        "recording_segment": recording.segments.first(),
        "recording_item": recording.items.first(),
        "voice_enrolment": _voice_enrolment_make(user=trainee),
    }


def _voice_enrolment_make(*, user):
    """Trainee A's finished voice print, recording kept (so that its audio URL serves a file)."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from trainer_app.engines.speech.speaker_embeddings import speaker_embedding_model_name
    from trainer_app.models import VoiceEnrolment

    enrolment = VoiceEnrolment(
        user=user, created_by=user, status="done", consent_at=timezone.now(), completed_at=timezone.now(),
        keep_audio=True, embedding=bytes(4 * 256), model_name=speaker_embedding_model_name(), speech_s=9.0,
        duration_s=10.0, mime_type="audio/wav",
    )  # fmt: skip
    enrolment.audio.save("a.wav", ContentFile(b"RIFF....WAVE"), save=False)
    enrolment.save()
    return enrolment


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()  # rate limits live in the cache
    yield
    cache.clear()


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return world_make()
