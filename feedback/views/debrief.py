"""The trainee's debrief after a session, its downloads, and the formulation worksheet.

``formulation_worksheet`` answers htmx (the worksheet polls while it is scored
and posts in place) with its partial, and a plain request with the whole
debrief page (a redirect after a saved worksheet)."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from feedback.forms.formulation import FormulationWorksheetForm
from feedback.selectors.access import session_for_viewer
from feedback.selectors.debrief import debrief_as_dict, debrief_as_markdown, debrief_build
from feedback.selectors.session_review import session_comments
from feedback.services.formulation import FIELD_NAMES, FIELDS, worksheet_get, worksheet_save


def _session_or_404(request: HttpRequest, session_id: int):
    session = session_for_viewer(user=request.user, session_id=session_id)
    if session is None:
        raise Http404("No such session.")
    return session


def _worksheet_context(request, session, form=None) -> dict:
    worksheet = worksheet_get(session_id=session.pk)
    score = (worksheet.score or {}) if worksheet else {}
    rows = [
        {"key": key, "name": FIELD_NAMES[key], "answer": (worksheet.fields.get(key) if worksheet else None),
         **(score.get("fields", {}).get(key) or {})}
        for key in FIELDS
    ] if worksheet else []
    return {
        "session": session,
        "worksheet": worksheet,
        "worksheet_rows": rows,
        "worksheet_total": score.get("total"),
        "can_edit": request.user.pk == session.trainee_id,
        "form": form or FormulationWorksheetForm(initial=worksheet.fields if worksheet else None),
    }


INVALID = 422  # a form with errors; htmx swaps it in (see htmx-config in base.html)


def _debrief_page(request: HttpRequest, session, *, form=None, status: int = 200) -> HttpResponse:
    built = debrief_build(session=session)
    comments = session_comments(session_id=session.pk)
    for view in built.transcript:  # the instructor's comments, shown under the turn they are about
        view.comments = comments.get(view.turn.pk, [])
    context = {"debrief": built, "comments": [c for turn in comments.values() for c in turn],
               **_worksheet_context(request, session, form)}
    return render(request, "feedback/debrief/debrief.html", context, status=status)


@login_required
def debrief(request: HttpRequest, session_id: int) -> HttpResponse:
    return _debrief_page(request, _session_or_404(request, session_id))


@login_required
def debrief_download(request: HttpRequest, session_id: int, fmt: str) -> HttpResponse:
    session = _session_or_404(request, session_id)
    built = debrief_build(session=session)
    if fmt == "json":
        body, content_type = json.dumps(debrief_as_dict(debrief=built), indent=2, ensure_ascii=False), "application/json"
    else:
        body, content_type = debrief_as_markdown(debrief=built), "text/markdown; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="debrief-session-{session.pk}.{fmt}"'
    return response


@login_required
def formulation_worksheet(request: HttpRequest, session_id: int) -> HttpResponse:
    """GET: the worksheet partial (polled while scoring). POST: the trainee submits it."""
    session = _session_or_404(request, session_id)
    form = None
    if request.method == "POST":
        if request.user.pk != session.trainee_id:
            raise Http404("No such session.")
        form = FormulationWorksheetForm(request.POST)
        if form.is_valid():
            worksheet_save(session=session, fields=form.cleaned_data)
            form = None
    status = INVALID if form is not None else 200
    if not request.htmx:
        if request.method == "POST" and form is None:
            return redirect(f"{reverse('feedback:debrief', args=[session.pk])}#formulation-worksheet")
        return _debrief_page(request, session, form=form, status=status)
    return render(request, "feedback/debrief/_worksheet.html", _worksheet_context(request, session, form), status=status)
