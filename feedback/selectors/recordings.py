"""Reads for recordings: who may see which, progress, the review page's data, exports."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from feedback.engines.speech_analytics import SpeechTurn, speech_analytics
from feedback.models import (
    Recording,
    RecordingItem,
    RecordingItemReview,
    RecordingSegment,
    RecordingSpeaker,
    RecordingStage,
)
from trainer_app.roles import ADMIN, INSTRUCTOR, user_role

STAGE_LABELS = {
    "decode": "Decoding audio", "vad": "Finding speech", "diarize": "Telling speakers apart", "asr": "Transcribing",
    "clean": "Removing hallucinations", "roles": "Recognising enrolled voices", "analysis": "Analysing with the framework",
}


def recordings_visible_to(*, user) -> QuerySet:
    """Admins: all; instructors: recordings of the cohorts they own; everyone else: none."""
    role = user_role(user=user)
    if role == ADMIN:
        return Recording.objects.all()
    if role == INSTRUCTOR:
        return Recording.objects.filter(cohort__owner=user)
    return Recording.objects.none()


def recording_for_viewer(*, user, recording_id: int) -> Recording | None:
    return recordings_visible_to(user=user).select_related("cohort", "uploaded_by").filter(pk=recording_id).first()


@dataclass
class StageView:
    name: str
    label: str
    status: str
    progress: float
    error: str
    seconds: float


@dataclass
class Progress:
    recording_id: int
    status: str
    stage: str
    stage_label: str
    percent: int
    eta_s: int | None
    error: str
    failed_stage: str
    stages: list[StageView] = field(default_factory=list)


def recording_progress(*, recording_id: int) -> Progress | None:
    from feedback.services.recording_pipeline import STAGE_WEIGHTS

    recording = Recording.objects.filter(pk=recording_id).values("status", "error", "pipeline_started_at").first()
    if recording is None:
        return None
    rows = list(RecordingStage.objects.filter(recording_id=recording_id).order_by("position"))
    total = sum(STAGE_WEIGHTS.values())
    done = sum(STAGE_WEIGHTS[r.name] * (1.0 if r.status == RecordingStage.Status.DONE else r.progress) for r in rows)
    fraction = done / total
    # diarization and ASR run side by side: name every running stage, else the first one left
    running = [r for r in rows if r.status == RecordingStage.Status.RUNNING]
    current = running[0] if running else next((r for r in rows if r.status != RecordingStage.Status.DONE), None)
    labels = [STAGE_LABELS.get(r.name, "") for r in running] or [STAGE_LABELS.get(current.name, "") if current else "Finished"]
    label = ", ".join([labels[0], *(x[:1].lower() + x[1:] for x in labels[1:])])  # "Telling speakers apart, transcribing"
    failed = next((r for r in rows if r.status == RecordingStage.Status.FAILED), None)
    eta = None
    started = recording["pipeline_started_at"]
    if started and 0.02 < fraction < 1 and recording["status"] == Recording.Status.PROCESSING:
        elapsed = (timezone.now() - started).total_seconds()
        eta = int(round(elapsed / fraction * (1 - fraction)))
    return Progress(
        recording_id=recording_id, status=recording["status"], stage=current.name if current else "",
        stage_label=label, percent=int(fraction * 100),
        eta_s=eta, error=recording["error"], failed_stage=failed.name if failed else "",
        stages=[StageView(r.name, STAGE_LABELS[r.name], r.status, r.progress, r.error, r.seconds) for r in rows],
    )


@dataclass
class Block:
    segment_id: int
    start: float
    end: float
    left: float  # percent of the recording
    width: float
    text: str
    reason: str = ""


@dataclass
class Lane:
    key: str
    name: str
    removed: bool
    blocks: list[Block]


@dataclass
class TurnView:
    segment: RecordingSegment
    speaker_name: str
    words: list[dict]
    items: list[RecordingItem]


@dataclass
class ReviewView:
    recording: Recording
    speakers: list[RecordingSpeaker]
    lanes: list[Lane]
    turns: list[TurnView]
    analytics: list
    removed_count: int
    duration: float
    progress: Progress | None
    miti: dict | None = None


def _effective(items: list[RecordingItem]) -> None:
    for item in items:
        latest = item.reviews.all()[0] if item.reviews.all() else None
        item.latest_review = latest
        item.effective_label = latest.corrected_label if latest and latest.corrected_label else item.label


def recording_review(*, recording: Recording) -> ReviewView:
    # A diarized "speaker" who only said removed things (a voice in the noise) is not listed.
    speakers = list(
        recording.speakers.filter(merged_into__isnull=True, segments__removed=False).distinct().order_by("position", "id")
    )
    items_qs = RecordingItem.objects.prefetch_related(Prefetch("reviews", queryset=RecordingItemReview.objects.order_by("-created_at", "-id")))
    segments = list(
        recording.segments.select_related("speaker").prefetch_related(Prefetch("items", queryset=items_qs)).order_by("position")
    )
    duration = max(recording.duration_s, max((s.end for s in segments), default=0.0), 1e-3)

    def block(s: RecordingSegment) -> Block:
        return Block(s.pk, s.start, s.end, round(100 * s.start / duration, 3), round(max(0.2, 100 * (s.end - s.start) / duration), 3),
                     s.text, s.removal_reason)

    lanes = [Lane(str(sp.pk), sp.name or sp.label, False, [block(s) for s in segments if s.speaker_id == sp.pk and not s.removed])
             for sp in speakers]
    orphan = [block(s) for s in segments if s.speaker_id is None and not s.removed]
    if orphan:
        lanes.append(Lane("none", "No speaker", False, orphan))
    removed = [block(s) for s in segments if s.removed]
    lanes.append(Lane("removed", "Removed", True, removed))
    from feedback.models import Framework
    from feedback.selectors.frameworks import framework_skill_labels

    framework = Framework.objects.filter(slug=recording.framework_slug).first() if recording.framework_slug else None
    choices = framework_skill_labels(framework=framework) if framework else {}
    turns = []
    for s in segments:
        items = list(s.items.all())
        _effective(items)
        for item in items:
            item.choices = choices.get(item.skill, [])
        turns.append(TurnView(
            segment=s, speaker_name=(s.speaker.name or s.speaker.label) if s.speaker else "No speaker",
            words=[{"start": w[0], "end": w[1], "text": w[2]} for w in s.words], items=items,
        ))
    analytics = speech_analytics(turns=[
        SpeechTurn(speaker=(s.speaker.name or s.speaker.label) if s.speaker else "No speaker", start=s.start, end=s.end,
                   words=tuple((w[0], w[1], w[2]) for w in s.words))
        for s in segments if not s.removed
    ])
    miti = None
    analysis = RecordingStage.objects.filter(recording=recording, name="analysis").values_list("result", flat=True).first() or {}
    if analysis.get("kind") == "behaviour-coding" and analysis.get("labels"):
        from feedback.engines.behaviour_coding.miti import miti_summary

        miti = miti_summary(labels=analysis["labels"])
    progress = recording_progress(recording_id=recording.pk)
    return ReviewView(recording=recording, speakers=speakers, lanes=lanes, turns=turns, analytics=analytics,
                      removed_count=len(removed), duration=duration, progress=progress, miti=miti)


@dataclass(frozen=True)
class ExportTurn:
    start: float
    end: float
    speaker: str
    speaker_label: str
    role: str
    text: str
    words: list
    removed: bool
    removal_reason: str
    items: list


def recording_export_turns(*, recording: Recording, include_removed: bool = False) -> list[ExportTurn]:
    items_qs = RecordingItem.objects.prefetch_related(Prefetch("reviews", queryset=RecordingItemReview.objects.order_by("-created_at", "-id")))
    segments = recording.segments.select_related("speaker").prefetch_related(Prefetch("items", queryset=items_qs)).order_by("position")
    out = []
    for s in segments:
        if s.removed and not include_removed:
            continue
        items = list(s.items.all())
        _effective(items)
        out.append(ExportTurn(
            start=s.start, end=s.end, speaker=(s.speaker.name or s.speaker.label) if s.speaker else "Unknown",
            speaker_label=s.speaker.label if s.speaker else "", role=s.speaker.role if s.speaker else "", text=s.text,
            words=s.words, removed=s.removed, removal_reason=s.removal_reason,
            items=[{"framework": i.framework_slug, "skill": i.skill, "label": i.effective_label, "engine_label": i.label,
                    "confidence": i.confidence, "evidence": i.evidence, "suggestion": i.suggestion,
                    "review": i.latest_review.verdict if i.latest_review else ""} for i in items],
        ))
    return out
