"""Recording analysis pages: list + upload, progress/review, corrections, audio, exports.

Every view looks the recording up through recordings_visible_to (admins all,
instructors their cohorts'); anything else is 404. Trainees get 403 from
instructor_required before any lookup."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from feedback.engines.transcript_formats import csv_render, json_render, rttm_render, srt_render, webvtt_render
from feedback.forms.recordings import (
    RecordingFrameworkForm,
    RecordingItemReviewForm,
    RecordingUploadForm,
    SegmentReassignForm,
    SpeakerMergeForm,
    SpeakerRenameForm,
)
from feedback.models import RecordingItem, RecordingSegment, RecordingSpeaker
from feedback.selectors.frameworks import framework_skill_labels
from feedback.selectors.recordings import (
    recording_for_viewer,
    recording_progress,
    recording_review,
    recordings_visible_to,
)
from feedback.services import recordings as service
from feedback.services.recording_analysis import RecordingReviewError, recording_item_review
from trainer_app.decorators import instructor_required

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
AUDIO_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac",
               ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg", ".webm": "audio/webm", ".mp4": "video/mp4"}


def _recording_or_404(request, recording_id: int):
    recording = recording_for_viewer(user=request.user, recording_id=recording_id)
    if recording is None:
        raise Http404("No such recording.")
    return recording


@instructor_required
def recording_list(request: HttpRequest) -> HttpResponse:
    form = RecordingUploadForm(user=request.user)
    recordings = recordings_visible_to(user=request.user).select_related("cohort")
    return render(request, "feedback/recordings/list.html", {"form": form, "recordings": recordings,
                                                             "max_mb": settings.RECORDING_MAX_BYTES // 2**20})


@require_POST
@instructor_required
def recording_upload(request: HttpRequest) -> HttpResponse:
    form = RecordingUploadForm(request.POST, request.FILES, user=request.user)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        temp = service.temp_upload_path()
        try:
            with temp.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            data = form.cleaned_data
            participants = [(data["trainer"], "trainer"), (data["trainee"], "trainee")]
            recording = service.recording_create(
                source=temp, original_name=upload.name, mime=upload.content_type or "", uploaded_by=request.user,
                title=data["title"], cohort=data["cohort"], consent_statement=data["consent_statement"],
                framework_slug=data["framework"], rubric_role=data["rubric_role"], participants=participants,
                num_speakers=data["num_speakers"],
            )
        except service.RecordingRejected as exc:
            form.add_error("file", str(exc))
        else:
            url = reverse("feedback:recording_detail", args=[recording.pk])
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
        finally:
            temp.unlink(missing_ok=True)
    template = "feedback/recordings/_upload_form.html" if request.htmx else "feedback/recordings/list.html"
    return render(request, template, {"form": form, "recordings": recordings_visible_to(user=request.user),
                                      "max_mb": settings.RECORDING_MAX_BYTES // 2**20}, status=200 if request.htmx else 400)


@instructor_required
def recording_detail(request: HttpRequest, recording_id: int) -> HttpResponse:
    recording = _recording_or_404(request, recording_id)
    view = recording_review(recording=recording)
    return render(request, "feedback/recordings/detail.html", {
        "recording": recording, "view": view, "progress": view.progress,
        "framework_form": RecordingFrameworkForm(initial={"framework": recording.framework_slug, "rubric_role": recording.rubric_role}),
        "events": recording.events.select_related("actor").order_by("-at", "-id")[:50],
    })


@instructor_required
@require_GET
def recording_progress_view(request: HttpRequest, recording_id: int) -> HttpResponse:
    recording = _recording_or_404(request, recording_id)
    return render(request, "feedback/recordings/_progress.html", {"progress": recording_progress(recording_id=recording.pk)})


@instructor_required
@require_GET
def recording_audio(request: HttpRequest, recording_id: int) -> HttpResponse:
    """The audio, only to those who may see the recording; byte ranges so the player can seek."""
    recording = _recording_or_404(request, recording_id)
    if not recording.audio_path:
        raise Http404("This recording's audio was deleted.")
    path = (Path(settings.MEDIA_ROOT) / recording.audio_path).resolve()
    if not path.is_file() or Path(settings.MEDIA_ROOT).resolve() not in path.parents:
        raise Http404("No audio.")
    size = path.stat().st_size
    content_type = AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream")
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        else:
            start, end = max(0, size - int(match.group(2))), size - 1
        if start > end or start >= size:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response

        def body(start=start, length=end - start + 1):
            with path.open("rb") as handle:
                handle.seek(start)
                left = length
                while left > 0:
                    chunk = handle.read(min(left, 1 << 16))
                    if not chunk:
                        return
                    left -= len(chunk)
                    yield chunk

        response = StreamingHttpResponse(body(), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(path.open("rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    return response


def _back(recording_id: int) -> HttpResponse:
    return redirect(reverse("feedback:recording_detail", args=[recording_id]))


@require_POST
@instructor_required
def recording_retry(request: HttpRequest, recording_id: int) -> HttpResponse:
    recording = _recording_or_404(request, recording_id)
    try:
        stage = service.recording_stage_retry_from_page(recording=recording, actor=request.user)
        messages.info(request, f"Retrying the {stage} stage.")
    except service.RecordingRejected as exc:
        messages.error(request, str(exc))
    return _back(recording.pk)


@require_POST
@instructor_required
def recording_delete(request: HttpRequest, recording_id: int) -> HttpResponse:
    recording = _recording_or_404(request, recording_id)
    service.recording_delete(recording=recording)
    messages.info(request, "Recording deleted.")
    return redirect(reverse("feedback:recording_list"))


@require_POST
@instructor_required
def recording_framework(request: HttpRequest, recording_id: int) -> HttpResponse:
    recording = _recording_or_404(request, recording_id)
    form = RecordingFrameworkForm(request.POST)
    if form.is_valid():
        service.recording_framework_set(recording=recording, framework_slug=form.cleaned_data["framework"],
                                        rubric_role=form.cleaned_data["rubric_role"], actor=request.user)
        messages.info(request, "Analysis is being re-run.")
    return _back(recording.pk)


def _speaker_or_404(recording, speaker_id: int) -> RecordingSpeaker:
    speaker = RecordingSpeaker.objects.filter(recording=recording, pk=speaker_id, merged_into__isnull=True).first()
    if speaker is None:
        raise Http404("No such speaker.")
    return speaker


@require_POST
@instructor_required
def speaker_rename(request: HttpRequest, recording_id: int, speaker_id: int) -> HttpResponse:
    recording = _recording_or_404(request, recording_id)
    speaker = _speaker_or_404(recording, speaker_id)
    form = SpeakerRenameForm(request.POST)
    if form.is_valid():
        try:
            rerun = service.speaker_rename(speaker=speaker, name=form.cleaned_data["name"], role=form.cleaned_data["role"], actor=request.user)
            messages.info(request, f"Renamed to {speaker.name}." + (" The analysis is being re-run." if rerun else ""))
        except service.RecordingRejected as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, "A speaker needs a name.")
    return _back(recording.pk)


@require_POST
@instructor_required
def speaker_merge(request: HttpRequest, recording_id: int, speaker_id: int) -> HttpResponse:
    recording = _recording_or_404(request, recording_id)
    source = _speaker_or_404(recording, speaker_id)
    form = SpeakerMergeForm(request.POST)
    if form.is_valid():
        target = _speaker_or_404(recording, form.cleaned_data["into"])
        try:
            service.speakers_merge(source=source, target=target, actor=request.user)
            messages.info(request, f"{source.name} merged into {target.name}.")
        except service.RecordingRejected as exc:
            messages.error(request, str(exc))
    return _back(recording.pk)


def _segment_or_404(recording, segment_id: int) -> RecordingSegment:
    segment = RecordingSegment.objects.filter(recording=recording, pk=segment_id).first()
    if segment is None:
        raise Http404("No such segment.")
    return segment


@require_POST
@instructor_required
def segment_reassign(request: HttpRequest, recording_id: int, segment_id: int) -> HttpResponse:
    recording = _recording_or_404(request, recording_id)
    segment = _segment_or_404(recording, segment_id)
    form = SegmentReassignForm(request.POST)
    if form.is_valid():
        speaker = _speaker_or_404(recording, form.cleaned_data["speaker"])
        service.segment_reassign(segment=segment, speaker=speaker, actor=request.user)
        messages.info(request, f"Segment given to {speaker.name}.")
    return _back(recording.pk)


@require_POST
@instructor_required
def segment_restore(request: HttpRequest, recording_id: int, segment_id: int) -> HttpResponse:
    recording = _recording_or_404(request, recording_id)
    segment = _segment_or_404(recording, segment_id)
    restore = request.POST.get("action", "restore") == "restore"
    service.segment_restore(segment=segment, actor=request.user, restore=restore)
    messages.info(request, "Segment restored." if restore else "Segment removed.")
    return _back(recording.pk)


@require_POST
@instructor_required
def recording_item_review_view(request: HttpRequest, recording_id: int, item_id: int) -> HttpResponse:
    recording = _recording_or_404(request, recording_id)
    item = RecordingItem.objects.select_related("segment").filter(recording=recording, pk=item_id).first()
    if item is None:
        raise Http404("No such item.")
    from feedback.models import Framework

    framework = Framework.objects.filter(slug=item.framework_slug).first()
    labels = framework_skill_labels(framework=framework).get(item.skill, []) if framework else []
    form = RecordingItemReviewForm(request.POST, labels=labels)
    status = 200
    if form.is_valid():
        try:
            recording_item_review(item=item, reviewer=request.user, **form.cleaned_data)
        except RecordingReviewError as exc:
            form.add_error(None, str(exc))
            status = 400
    else:
        status = 400
    item = RecordingItem.objects.prefetch_related("reviews").get(pk=item.pk)
    latest = item.reviews.order_by("-created_at", "-id").first()
    item.latest_review = latest
    item.effective_label = latest.corrected_label if latest and latest.corrected_label else item.label
    return render(request, "feedback/recordings/_item.html", {"recording": recording, "item": item, "labels": labels,
                                                              "form": form if status == 400 else None}, status=status)


@instructor_required
@require_GET
def recording_export(request: HttpRequest, recording_id: int, fmt: str) -> HttpResponse:
    from feedback.selectors.recordings import recording_export_turns

    recording = _recording_or_404(request, recording_id)
    turns = recording_export_turns(recording=recording, include_removed=fmt == "json")
    uri = f"recording-{recording.pk}"
    if fmt == "rttm":
        body, content_type = rttm_render(turns=turns, uri=uri), "text/plain"
    elif fmt == "vtt":
        body, content_type = webvtt_render(turns=turns), "text/vtt"
    elif fmt == "srt":
        body, content_type = srt_render(turns=turns), "application/x-subrip"
    elif fmt == "csv":
        body, content_type = csv_render(turns=turns), "text/csv"
    elif fmt == "json":
        meta = {"recording": recording.pk, "title": recording.title, "duration_s": round(recording.duration_s, 3),
                "framework": recording.framework_slug}
        body, content_type = json_render(turns=turns, meta=meta), "application/json"
    else:
        raise Http404("Unknown export format.")
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{uri}.{fmt}"'
    return response
