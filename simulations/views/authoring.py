"""Authoring pages for admins: personas, scenarios, packs. Thin: a form
validates, a service writes, a template renders."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from simulations.forms.authoring import PersonaForm, ScenarioForm
from simulations.forms.packs import PackExportForm, PackImportForm
from simulations.selectors.authoring import (
    persona_get,
    persona_list,
    scenario_get,
    scenario_list,
    scenario_trainee_view,
)
from simulations.services.authoring import (
    persona_duplicate,
    persona_save,
    scenario_archive_set,
    scenario_cohorts_set,
    scenario_duplicate,
    scenario_save,
)
from simulations.services.packs import pack_export, pack_import
from simulations.services.sessions import practice_session_start
from trainer_app.decorators import admin_required


def _scenario_or_404(slug: str):
    scenario = scenario_get(slug=slug)
    if scenario is None or scenario.current_version is None:
        raise Http404("No such scenario.")
    return scenario


def _persona_or_404(slug: str):
    persona = persona_get(slug=slug)
    if persona is None:
        raise Http404("No such persona.")
    return persona


def session_page_path(session_id: int) -> str:
    # The session page belongs to the session flow (built separately); its path is fixed.
    return f"/practice/sessions/{session_id}/"


@admin_required
def author_home(request: HttpRequest) -> HttpResponse:
    return redirect("simulations:author_scenario_list")


@admin_required
def scenario_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "simulations/authoring/scenario_list.html", {"scenarios": scenario_list()})


@admin_required
def scenario_create(request: HttpRequest) -> HttpResponse:
    form = ScenarioForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        scenario, _ = scenario_save(data=form.pack_data, user=request.user)
        scenario_cohorts_set(scenario=scenario, cohorts=form.cleaned_data["cohorts"])
        messages.success(request, f"Scenario “{scenario.title}” created.")
        return redirect("simulations:author_scenario_edit", slug=scenario.slug)
    return render(request, "simulations/authoring/scenario_form.html", {"form": form, "scenario": None})


@admin_required
def scenario_edit(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = _scenario_or_404(slug)
    form = ScenarioForm(request.POST or None, scenario=scenario)
    if request.method == "POST" and form.is_valid():
        _, status = scenario_save(data=form.pack_data, user=request.user, scenario=scenario)
        scenario_cohorts_set(scenario=scenario, cohorts=form.cleaned_data["cohorts"])
        scenario_archive_set(scenario=scenario, archived=form.cleaned_data["archived"])
        note = f"saved as version {scenario.current_version.number}" if status == "updated" else "saved (content unchanged)"
        messages.success(request, f"Scenario “{scenario.title}” {note}.")
        return redirect("simulations:author_scenario_edit", slug=scenario.slug)
    return render(request, "simulations/authoring/scenario_form.html", {"form": form, "scenario": scenario})


@admin_required
@require_POST
def scenario_duplicate_view(request: HttpRequest, slug: str) -> HttpResponse:
    copy = scenario_duplicate(scenario=_scenario_or_404(slug), user=request.user)
    messages.success(request, f"Copied as “{copy.title}”. It is not assigned to any cohort yet.")
    return redirect("simulations:author_scenario_edit", slug=copy.slug)


@admin_required
def scenario_preview(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = _scenario_or_404(slug)
    return render(request, "simulations/authoring/scenario_preview.html",
                  {"scenario": scenario, "view": scenario_trainee_view(version=scenario.current_version)})


@admin_required
@require_POST
def scenario_try(request: HttpRequest, slug: str) -> HttpResponse:
    session = practice_session_start(user=request.user, scenario=_scenario_or_404(slug))
    return redirect(session_page_path(session.pk))


@admin_required
def persona_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "simulations/authoring/persona_list.html", {"personas": persona_list()})


@admin_required
def persona_create(request: HttpRequest) -> HttpResponse:
    form = PersonaForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        persona, _ = persona_save(data=form.pack_data, user=request.user)
        messages.success(request, f"Persona “{persona.name}” created.")
        return redirect("simulations:author_persona_edit", slug=persona.slug)
    return render(request, "simulations/authoring/persona_form.html", {"form": form, "persona": None})


@admin_required
def persona_edit(request: HttpRequest, slug: str) -> HttpResponse:
    persona = _persona_or_404(slug)
    form = PersonaForm(request.POST or None, persona=persona)
    if request.method == "POST" and form.is_valid():
        _, status = persona_save(data=form.pack_data, user=request.user, persona=persona)
        note = "saved; scenarios using this persona have a new version" if status == "updated" else "saved (content unchanged)"
        messages.success(request, f"Persona “{persona.name}” {note}.")
        return redirect("simulations:author_persona_edit", slug=persona.slug)
    return render(request, "simulations/authoring/persona_form.html", {"form": form, "persona": persona})


@admin_required
@require_POST
def persona_duplicate_view(request: HttpRequest, slug: str) -> HttpResponse:
    copy = persona_duplicate(persona=_persona_or_404(slug), user=request.user)
    messages.success(request, f"Copied as “{copy.name}”.")
    return redirect("simulations:author_persona_edit", slug=copy.slug)


@admin_required
def pack_import_view(request: HttpRequest) -> HttpResponse:
    form = PackImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = pack_import(content=form.cleaned_data["file"].read(), update=form.cleaned_data["update"], user=request.user)
        if result.ok:
            messages.success(request, f"Pack imported: {result.summary()}.")
            return redirect("simulations:author_pack_import")
    status = 400 if request.method == "POST" else 200
    return render(request, "simulations/authoring/pack_import.html", {"form": form, "result": result}, status=status)


@admin_required
def pack_export_view(request: HttpRequest) -> HttpResponse:
    form = PackExportForm(request.GET if "download" in request.GET else None)
    if form.is_bound and form.is_valid():
        response = HttpResponse(pack_export(slugs=form.cleaned_data["slugs"]), content_type="application/yaml; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="scenario-pack.yaml"'
        return response
    return render(request, "simulations/authoring/pack_export.html", {"form": form})
