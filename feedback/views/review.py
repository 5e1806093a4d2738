"""Instructor review of a session's feedback: agree, partly agree, disagree, correct.

``review_item`` answers an htmx swap with the item's partial and a plain form
post (no JavaScript) with the whole review page: a redirect after a saved
review, the page with the item's form and its errors otherwise."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from feedback.forms.analytics import TurnCommentForm
from feedback.forms.review import review_form_class
from feedback.models import AssessmentItem
from feedback.selectors.access import session_for_reviewer, session_for_viewer
from feedback.selectors.assessments import assessment_view, assessments_with_items, framework_infos, session_transcript
from feedback.selectors.session_review import session_review_extras, turn_comments, voice_clip_for_turn
from feedback.services.comments import CommentError, turn_comment_add
from feedback.services.reviews import ReviewError, review_record
from simulations.services.sessions import ResultsReleaseError, session_results_release
from trainer_app.decorators import instructor_required

INVALID = 422  # a form with errors; htmx swaps it in (see htmx-config in base.html)


def _session_or_404(request, session_id: int):
    session = session_for_reviewer(user=request.user, session_id=session_id)
    if session is None:
        raise Http404("No such session.")
    return session


def _review_page(request, session, *, form=None, status: int = 200) -> HttpResponse:
    transcript = session_transcript(session=session)
    extras = session_review_extras(session=session)
    for view in transcript:  # the review's own per-turn additions, looked up once
        view.comments = extras.comments.get(view.turn.pk, [])
        view.clip = extras.clips.get(view.turn.pk)
        view.comment_form = TurnCommentForm(auto_id=f"comment-{view.turn.pk}-%s")
    context = {"session": session, "transcript": transcript, "review_form_bound": form, "persona": extras.persona_chart}
    return render(request, "feedback/review/review.html", context, status=status)


@instructor_required
def review_session(request: HttpRequest, session_id: int) -> HttpResponse:
    return _review_page(request, _session_or_404(request, session_id))


@require_POST
@instructor_required
def review_comment(request: HttpRequest, session_id: int, turn_id: int) -> HttpResponse:
    """An instructor's comment on one turn; htmx gets the turn's comment list back, a plain form post a redirect."""
    session = _session_or_404(request, session_id)
    turn = session.turns.filter(pk=turn_id).first()
    if turn is None:
        raise Http404("No such turn.")
    auto_id = f"comment-{turn.pk}-%s"
    form = TurnCommentForm(request.POST, auto_id=auto_id)
    status = 200
    if form.is_valid():
        try:
            turn_comment_add(turn=turn, author=request.user, text=form.cleaned_data["text"])
            form = TurnCommentForm(auto_id=auto_id)
        except CommentError as exc:
            form.add_error("text", str(exc))
            status = INVALID
    else:
        status = INVALID
    if not request.htmx and status == 200:
        return redirect(reverse("feedback:review_session", args=[session.pk]) + f"#turn-{turn.index}")
    return render(request, "feedback/review/_comments.html", {
        "session": session, "turn": turn, "comments": turn_comments(turn_id=turn.pk), "comment_form": form,
    }, status=status)


@login_required
def turn_audio(request: HttpRequest, session_id: int, turn_id: int) -> FileResponse:
    """A voice turn's recording: the trainee, their instructors and admins (404 for anyone else)."""
    session = session_for_viewer(user=request.user, session_id=session_id)
    if session is None:
        raise Http404("No such session.")
    clip = voice_clip_for_turn(session=session, turn_id=turn_id)
    if clip is None or not clip.audio:
        raise Http404("No recording for this turn.")
    try:
        handle = clip.audio.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The recording has expired or was removed.") from exc
    response = FileResponse(handle, content_type=clip.mime_type or "application/octet-stream")
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@instructor_required
def review_item(request: HttpRequest, session_id: int, item_id: int) -> HttpResponse:
    session = _session_or_404(request, session_id)
    item = AssessmentItem.objects.select_related("assessment__turn").filter(pk=item_id, assessment__turn__session=session).first()
    if item is None:
        raise Http404("No such feedback item.")
    info = framework_infos(slugs=[item.assessment.framework_slug])[item.assessment.framework_slug]
    form_class = review_form_class(verdict=request.POST.get("verdict", ""))
    form = form_class(request.POST, labels=info.skill_labels(item.skill), current_label=item.label, item_id=item.pk)
    if form.is_valid():
        try:
            review_record(item=item, reviewer=request.user, **form.cleaned_data)
        except ReviewError as exc:
            form.add_error(None, str(exc))
    saved = form.is_valid()  # add_error removed the field's cleaned data when the service refused it
    if not request.htmx:
        if saved:
            return redirect(f"{reverse('feedback:review_session', args=[session.pk])}#review-item-{item.pk}")
        return _review_page(request, session, form=form, status=INVALID)
    assessment = assessments_with_items().get(pk=item.assessment_id)
    view = assessment_view(assessment=assessment, framework=info)
    eff = next(e for e in view.items if e.item.pk == item.pk)
    return render(request, "feedback/review/_item.html",
                  {"session": session, "eff": eff, "framework": info, "review_form_bound": None if saved else form},
                  status=200 if saved else INVALID)


@require_POST
@instructor_required
def review_release(request: HttpRequest, session_id: int) -> HttpResponse:
    """Release an ended exam's results to its trainee."""
    session = _session_or_404(request, session_id)
    error, status = "", 200
    try:
        session = session_results_release(session=session, released_by=request.user)
    except ResultsReleaseError as exc:
        error, status = str(exc), 409
    if request.htmx:
        return render(request, "feedback/review/_release.html", {"session": session, "release_error": error}, status=status)
    return redirect("feedback:review_session", session_id=session.pk)
