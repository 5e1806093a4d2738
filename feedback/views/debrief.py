"""The trainee's debrief after a session, its downloads, and the formulation worksheet.

Nothing here is shown before the session ends, and for exams nothing graded before an
instructor releases the results (feedback.access_rules): the debrief reveals the
feedback and, for CBT, the patient's hidden model.

``formulation_worksheet`` answers htmx (the worksheet polls while it is scored
and posts in place) with its partial, and a plain request with the whole
debrief page (a redirect after a saved worksheet)."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from feedback.access_rules import ResultsAccess
from feedback.forms.formulation import FormulationWorksheetForm
from feedback.selectors.access import session_for_viewer, session_results_access
from feedback.selectors.debrief import debrief_as_dict, debrief_as_markdown, debrief_build, session_is_cbt
from feedback.selectors.formulation import worksheet_counted, worksheet_latest_after_reveal
from feedback.selectors.session_review import session_comments
from feedback.services.formulation import FIELD_NAMES, FIELDS, worksheet_save

INVALID = 422  # a form with errors; htmx swaps it in (see htmx-config in base.html)


def _session_or_404(request: HttpRequest, session_id: int):
    session = session_for_viewer(user=request.user, session_id=session_id)
    if session is None:
        raise Http404("No such session.")
    return session


def _closed(request: HttpRequest, session, access: ResultsAccess) -> HttpResponse:
    return render(request, "feedback/debrief/unavailable.html", {"session": session, "reason": access.reason}, status=403)


def _worksheet_rows(worksheet) -> list[dict]:
    if worksheet is None:
        return []
    per_field = (worksheet.score or {}).get("fields", {})
    return [{"key": key, "name": FIELD_NAMES[key], "answer": worksheet.fields.get(key), **(per_field.get(key) or {})}
            for key in FIELDS]


def _worksheet_context(session, access: ResultsAccess, form=None) -> dict:
    counted = worksheet_counted(session_id=session.pk)
    later = worksheet_latest_after_reveal(session_id=session.pk) if access.results else None
    return {
        "session": session,
        "worksheet": counted,
        # Scores sit beside the patient's model: both only once results are visible.
        "worksheet_rows": _worksheet_rows(counted) if access.results else [],
        "worksheet_total": (counted.score or {}).get("total") if counted and access.results else None,
        "worksheet_later": later,
        "worksheet_later_rows": _worksheet_rows(later),
        "results_visible": access.results,
        "results_reason": access.reason,
        "can_edit": access.worksheet_submit,
        "form": form or FormulationWorksheetForm(initial=(later or counted).fields if (later or counted) else None),
    }


def _debrief_page(request: HttpRequest, session, access: ResultsAccess, *, form=None, status: int = 200) -> HttpResponse:
    built = debrief_build(session=session) if access.results else None
    comments = session_comments(session_id=session.pk) if access.results else {}
    for view in built.transcript if built else []:  # the instructor's comments, shown under the turn they are about
        view.comments = comments.get(view.turn.pk, [])
    context = {"debrief": built, "access": access, "is_cbt": session_is_cbt(session=session),
               "comments": [c for turn in comments.values() for c in turn],
               **_worksheet_context(session, access, form)}
    return render(request, "feedback/debrief/debrief.html", context, status=status)


@login_required
def debrief(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session_or_404(request, session_id)
    access = session_results_access(user=request.user, session=session)
    if not access.debrief:
        return _closed(request, session, access)
    return _debrief_page(request, session, access)


@login_required
def debrief_download(request: HttpRequest, session_id: int, fmt: str) -> HttpResponse:
    session = _session_or_404(request, session_id)
    access = session_results_access(user=request.user, session=session)
    if not access.results:
        return _closed(request, session, access)
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
    access = session_results_access(user=request.user, session=session)
    if not access.debrief:
        return _closed(request, session, access)
    form = None
    if request.method == "POST":
        if not access.worksheet_submit:
            raise Http404("No such session.")
        form = FormulationWorksheetForm(request.POST)
        if form.is_valid():
            worksheet_save(session=session, fields=form.cleaned_data, results_visible=access.results)
            form = None
    status = INVALID if form is not None else 200
    if not request.htmx:
        if request.method == "POST" and form is None:
            return redirect(f"{reverse('feedback:debrief', args=[session.pk])}#formulation-worksheet")
        return _debrief_page(request, session, access, form=form, status=status)
    return render(request, "feedback/debrief/_worksheet.html", _worksheet_context(session, access, form),
                  status=status)
