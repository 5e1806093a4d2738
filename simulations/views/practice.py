"""The trainee's side before a session: the scenario brief and the Start button."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from simulations.forms.practice import SessionStartForm
from simulations.selectors.authoring import scenario_trainee_view
from simulations.selectors.practice import scenario_exam_choice_for, scenario_visible_to
from simulations.services.sessions import practice_session_start
from simulations.views.authoring import session_page_path


@login_required
def scenario_brief(request: HttpRequest, slug: str) -> HttpResponse:
    # 404 rather than 403 for unassigned scenarios: do not confirm they exist.
    scenario = scenario_visible_to(user=request.user, slug=slug)
    if scenario is None:
        raise Http404("No such scenario.")
    view = scenario_trainee_view(version=scenario.current_version)
    form = SessionStartForm(request.POST or None, trainee_view=view,
                            exam_choice=scenario_exam_choice_for(user=request.user, scenario=scenario))
    if request.method == "POST" and form.is_valid():
        session = practice_session_start(user=request.user, scenario=scenario, style=form.cleaned_data.get("style") or None,
                                         exam=form.wants_exam())
        # The chosen mode is the session page's starting input (text box or microphone).
        return redirect(f"{session_page_path(session.pk)}?mode={form.cleaned_data['mode']}")
    return render(request, "simulations/practice/scenario_brief.html", {"scenario": scenario, "view": view, "form": form},
                  status=400 if form.is_bound else 200)
