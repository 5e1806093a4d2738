"""Voice enrolment pages: a person records (or uploads) their voice; an admin may do it for someone.

Only the person and admins see or change an enrolment; anyone else gets 404 (its existence is not
revealed). The voice print is computed on the speech queue; the page polls the status partial.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Max, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from trainer_app.decorators import admin_required
from trainer_app.engines.speech.audio import ALLOWED_MIME_TYPES
from trainer_app.forms_voice import READ_ALOUD_TEXT, VoiceEnrolmentForm, VoiceEnrolmentForUserForm
from trainer_app.models import VoiceEnrolment
from trainer_app.selectors import voice_enrolment_latest, voice_enrolment_viewable
from trainer_app.services_voice import VoiceEnrolmentRejected, voice_enrolment_create, voice_enrolment_delete


def _page(request: HttpRequest, *, person, form_class, page_url: str) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = form_class(request.POST, request.FILES)
        if form.is_valid():
            try:
                voice_enrolment_create(
                    user=person,
                    created_by=request.user,
                    keep_audio=form.cleaned_data["keep_audio"],
                    audio=form.cleaned_data["audio"],
                )
            except VoiceEnrolmentRejected as exc:
                form.add_error("audio", str(exc))
            else:
                messages.success(request, "Recording received. The voice print is being computed.")
                return redirect(page_url)
        status = 400
    else:
        form = form_class()
    context = {
        "person": person,
        "for_someone_else": person.pk != request.user.pk,
        "enrolment": voice_enrolment_latest(user_id=person.pk),
        "form": form,
        "read_aloud": READ_ALOUD_TEXT,
    }
    return render(request, "trainer_app/voice.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def voice_enrolment(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own voice page."""
    return _page(request, person=request.user, form_class=VoiceEnrolmentForm, page_url=request.path)


@admin_required
@require_http_methods(["GET", "POST"])
@never_cache
def voice_enrolment_user(request: HttpRequest, user_id: int) -> HttpResponse:
    """An admin records or uploads a clip for someone."""
    person = get_object_or_404(get_user_model(), pk=user_id)
    return _page(request, person=person, form_class=VoiceEnrolmentForUserForm, page_url=request.path)


@admin_required
@require_GET
def voice_enrolment_users(request: HttpRequest) -> HttpResponse:
    """Admins: everyone, with the date of their newest finished voice print (one query)."""
    people = (
        get_user_model()
        .objects.order_by("username")
        .annotate(
            voice_done_at=Max(
                "voice_enrolments__completed_at", filter=Q(voice_enrolments__status=VoiceEnrolment.Status.DONE)
            )
        )
        .only("pk", "username")
    )
    return render(request, "trainer_app/voice_users.html", {"people": people})


def _viewable_or_404(request: HttpRequest, enrolment_id: int):
    enrolment = voice_enrolment_viewable(viewer=request.user, enrolment_id=enrolment_id)
    if enrolment is None:
        raise Http404("No such voice enrolment.")
    return enrolment


@login_required
@require_GET
@never_cache
def voice_enrolment_status(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    """The status partial (polled by htmx while the voice print is computed)."""
    enrolment = _viewable_or_404(request, enrolment_id)
    return render(request, "trainer_app/_voice_status.html", {"enrolment": enrolment, "person": enrolment.user})


@login_required
@require_POST
def voice_enrolment_remove(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    enrolment = _viewable_or_404(request, enrolment_id)
    person_id = enrolment.user_id
    voice_enrolment_delete(enrolment=enrolment, deleted_by=request.user)
    messages.success(request, "The voice print and any kept recording were deleted.")
    if person_id == request.user.pk:
        return redirect("voice_enrolment")
    return redirect("voice_enrolment_user", user_id=person_id)


@login_required
@require_GET
def voice_enrolment_audio(request: HttpRequest, enrolment_id: int) -> FileResponse:
    """A kept recording, to its person and admins only."""
    enrolment = _viewable_or_404(request, enrolment_id)
    if not enrolment.audio:
        raise Http404("No recording is kept for this voice print.")
    mime = enrolment.mime_type.split(";", 1)[0].strip().lower()
    content_type = mime if mime in ALLOWED_MIME_TYPES else "application/octet-stream"
    response = FileResponse(enrolment.audio.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = "inline"
    return response
