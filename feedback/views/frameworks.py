"""Framework pages for admins: list, detail (skills and exemplars), exemplar editing."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from feedback.forms.frameworks import ExemplarForm
from feedback.selectors.frameworks import framework_get, framework_list, framework_skill_labels
from feedback.services.frameworks import exemplar_anonymised_set, exemplar_create, exemplar_delete, exemplar_update
from trainer_app.decorators import admin_required


def _framework_or_404(slug: str):
    framework = framework_get(slug=slug)
    if framework is None:
        raise Http404("No such framework.")
    return framework


def _exemplar_or_404(framework, pk: int):
    exemplar = framework.exemplars.filter(pk=pk).first()
    if exemplar is None:
        raise Http404("No such exemplar.")
    return exemplar


@admin_required
def framework_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "feedback/frameworks/list.html", {"frameworks": framework_list()})


@admin_required
def framework_detail(request: HttpRequest, slug: str) -> HttpResponse:
    framework = _framework_or_404(slug)
    return render(request, "feedback/frameworks/detail.html", {
        "framework": framework,
        "skills": framework.data.get("skills") or [],
        "skill_labels": framework_skill_labels(framework=framework),
        "exemplars": framework.exemplars.all(),
    })


@admin_required
def exemplar_create_view(request: HttpRequest, slug: str) -> HttpResponse:
    framework = _framework_or_404(slug)
    form = ExemplarForm(request.POST or None, framework=framework)
    if request.method == "POST" and form.is_valid():
        created = exemplar_create(framework=framework, user=request.user, **form.pack_data)
        exemplar_anonymised_set(exemplar=created, anonymised=form.cleaned_data["anonymised"])
        messages.success(request, "Exemplar added.")
        return redirect("feedback:author_framework_detail", slug=slug)
    return render(request, "feedback/frameworks/exemplar_form.html", {"form": form, "framework": framework, "exemplar": None})


@admin_required
def exemplar_edit_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    framework = _framework_or_404(slug)
    exemplar = _exemplar_or_404(framework, pk)
    form = ExemplarForm(request.POST or None, framework=framework, exemplar=exemplar)
    if request.method == "POST" and form.is_valid():
        exemplar_update(exemplar=exemplar, **form.pack_data)
        exemplar_anonymised_set(exemplar=exemplar, anonymised=form.cleaned_data["anonymised"])
        messages.success(request, "Exemplar saved.")
        return redirect("feedback:author_framework_detail", slug=slug)
    return render(request, "feedback/frameworks/exemplar_form.html", {"form": form, "framework": framework, "exemplar": exemplar})


@admin_required
@require_POST
def exemplar_delete_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    framework = _framework_or_404(slug)
    exemplar_delete(exemplar=_exemplar_or_404(framework, pk))
    messages.success(request, "Exemplar deleted.")
    return redirect("feedback:author_framework_detail", slug=slug)
