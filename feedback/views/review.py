"""Instructor review of a session's feedback: agree, partly agree, disagree, correct."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from feedback.forms.review import ReviewForm
from feedback.models import AssessmentItem
from feedback.selectors.access import session_for_reviewer
from feedback.selectors.assessments import assessment_view, assessments_with_items, framework_infos, session_transcript
from feedback.services.reviews import ReviewError, review_record
from simulations.services.sessions import ResultsReleaseError, session_results_release
from trainer_app.decorators import instructor_required


def _session_or_404(request, session_id: int):
    session = session_for_reviewer(user=request.user, session_id=session_id)
    if session is None:
        raise Http404("No such session.")
    return session


@instructor_required
def review_session(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session_or_404(request, session_id)
    return render(request, "feedback/review/review.html", {"session": session, "transcript": session_transcript(session=session)})


@require_POST
@instructor_required
def review_item(request: HttpRequest, session_id: int, item_id: int) -> HttpResponse:
    session = _session_or_404(request, session_id)
    item = AssessmentItem.objects.select_related("assessment__turn").filter(pk=item_id, assessment__turn__session=session).first()
    if item is None:
        raise Http404("No such feedback item.")
    info = framework_infos(slugs=[item.assessment.framework_slug])[item.assessment.framework_slug]
    form = ReviewForm(request.POST, labels=info.skill_labels(item.skill))
    status = 200
    if form.is_valid():
        try:
            review_record(item=item, reviewer=request.user, **form.cleaned_data)
        except ReviewError as exc:
            form.add_error(None, str(exc))
            status = 400
    else:
        status = 400
    assessment = assessments_with_items().get(pk=item.assessment_id)
    view = assessment_view(assessment=assessment, framework=info)
    eff = next(e for e in view.items if e.item.pk == item.pk)
    return render(request, "feedback/review/_item.html", {"session": session, "eff": eff, "framework": info,
                                                            "form": form if status == 400 else None}, status=status)


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
