from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from trainer_app.dashboard import dashboard_panels_for
from trainer_app.decorators import admin_required, instructor_required
from trainer_app.forms import cohort_exam_choice_form
from trainer_app.health import health_report
from trainer_app.roles import user_is_admin, user_role
from trainer_app.selectors import cohort_for_instructor, cohorts_for_instructor
from trainer_app.services import cohort_exam_choice_set


def home(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard" if request.user.is_authenticated else "login")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    role = user_role(user=request.user)
    panels = [
        {"key": p.key, "title": p.title, "template": p.template, "context": p.context(request)}
        for p in dashboard_panels_for(role=role or "none")
    ]
    return render(request, "trainer_app/dashboard.html", {"role": role, "panels": panels})


@instructor_required
def cohorts(request: HttpRequest) -> HttpResponse:
    rows = [{"cohort": c, "exam_form": cohort_exam_choice_form(cohort=c)} for c in cohorts_for_instructor(user=request.user)]
    return render(request, "trainer_app/cohorts.html", {"rows": rows})


@require_POST
@instructor_required
def cohort_exam_choice(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = cohort_for_instructor(user=request.user, cohort_id=cohort_id)
    if cohort is None:
        raise Http404("No such cohort.")
    form = cohort_exam_choice_form(cohort=cohort, data=request.POST)
    if form.is_valid():
        cohort = cohort_exam_choice_set(cohort=cohort, allowed=form.cleaned_data["allowed"])
        form = cohort_exam_choice_form(cohort=cohort)
    if request.htmx:
        return render(request, "trainer_app/_cohort_exam_choice.html", {"cohort": cohort, "exam_form": form})
    return redirect("cohorts")


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report(detailed=user_is_admin(user=request.user))
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@admin_required
def health_page(request: HttpRequest) -> HttpResponse:
    return render(request, "trainer_app/health.html", {"report": health_report()})
