"""What simulations holds about a person (practice sessions, turns, voice clips) for export,
erasure, retention and consent withdrawal (trainer_app.privacy)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from simulations.models import PracticeSession, Turn, VoiceClip
from trainer_app.models import Consent
from trainer_app.privacy.registry import (
    PersonalData,
    PrivacyContributor,
    privacy_contributor_register,
    privacy_revoke_hook_register,
)


def _delete_files_after_commit(*, names: list[str]) -> None:
    from django.core.files.storage import default_storage

    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)


def _export(*, user) -> PersonalData:
    sessions = list(PracticeSession.objects.filter(trainee=user).select_related("scenario_version__scenario").order_by("started_at"))
    turns = Turn.objects.filter(session__trainee=user).order_by("session_id", "index")
    by_session: dict[int, list[dict]] = {}
    for t in turns.values("session_id", "index", "speaker", "text", "source", "created_at"):
        by_session.setdefault(t.pop("session_id"), []).append(t)
    clips = list(VoiceClip.objects.filter(session__trainee=user).order_by("created_at"))
    files = {}
    for clip in clips:
        if clip.audio and not clip.audio_deleted_at:
            files[f"voice/{clip.session_id}-{clip.pk}{Path(clip.audio.name).suffix}"] = Path(clip.audio.path)
    records = {
        "practice_sessions": [
            {"id": s.pk, "scenario": s.scenario_version.scenario.title, "started_at": s.started_at, "ended_at": s.ended_at,
             "status": s.status, "exam": s.exam, "turns": by_session.get(s.pk, [])}
            for s in sessions
        ],
        "voice_clips": [
            {"id": c.pk, "session": c.session_id, "created_at": c.created_at, "transcript": c.transcript,
             "duration_s": c.duration_s, "audio_deleted_at": c.audio_deleted_at} for c in clips
        ],
    }
    return PersonalData(records=records, files=files)


def _erase(*, user) -> dict[str, int]:
    names = [n for n in VoiceClip.objects.filter(session__trainee=user).values_list("audio", flat=True) if n]
    _delete_files_after_commit(names=names)
    sessions = PracticeSession.objects.filter(trainee=user)
    count = sessions.count()
    sessions.delete()  # turns, voice clips, assessments and worksheets go with them
    return {"practice_sessions": count, "voice_audio_files": len(names)}


def voice_audio_delete(*, clips) -> int:
    """Delete the audio of these clips (after commit), keeping their transcripts."""
    rows = list(clips.exclude(audio="").values_list("pk", "audio"))
    _delete_files_after_commit(names=[name for _, name in rows])
    VoiceClip.objects.filter(pk__in=[pk for pk, _ in rows]).update(audio="", audio_deleted_at=timezone.now())
    return len(rows)


def _purge(*, now) -> dict[str, int]:
    cutoff = now - timedelta(days=settings.VOICE_CLIP_RETENTION_DAYS)
    with transaction.atomic():
        return {"voice_clip_audio": voice_audio_delete(clips=VoiceClip.objects.filter(created_at__lt=cutoff))}


def _revoke_voice_turns(*, user) -> dict[str, int]:
    return {"voice_clip_audio": voice_audio_delete(clips=VoiceClip.objects.filter(session__trainee=user))}


def privacy_register_simulations() -> None:
    privacy_contributor_register(contributor=PrivacyContributor(
        name="practice", export=_export, erase=_erase, purge=_purge, erase_order=20))
    privacy_revoke_hook_register(kind=Consent.Kind.VOICE_TURNS, hook=_revoke_voice_turns)
