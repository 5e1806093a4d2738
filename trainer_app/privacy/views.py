"""Privacy pages: a person's consents and data export; an admin deleting a person."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from trainer_app.decorators import admin_required
from trainer_app.models import Consent
from trainer_app.privacy.consent import consent_give, consent_revoke, consent_statement, consents_for
from trainer_app.privacy.erasure import ErasureRefused, person_erase
from trainer_app.privacy.export import person_export_archive
from trainer_app.privacy.forms import ConsentForm, PersonEraseForm


@login_required
def privacy_page(request: HttpRequest) -> HttpResponse:
    active = consents_for(user=request.user)
    consents = [{"kind": kind, "label": label, "statement": consent_statement(kind=kind), "active": active[kind]}
                for kind, label in Consent.Kind.choices]
    return render(request, "trainer_app/privacy.html", {"consents": consents})


@require_POST
@login_required
def privacy_consent(request: HttpRequest) -> HttpResponse:
    form = ConsentForm(request.POST)
    if not form.is_valid():
        return HttpResponse("That consent form was incomplete; nothing changed.", status=400)
    kind, decision = form.cleaned_data["kind"], form.cleaned_data["decision"]
    if decision == "give":
        consent_give(user=request.user, kind=kind)
    else:
        consent_revoke(user=request.user, kind=kind)
    target = form.cleaned_data["next"]
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = "privacy"
    return redirect(target)


@login_required
def privacy_export(request: HttpRequest) -> HttpResponse:
    archive = person_export_archive(user=request.user)
    response = HttpResponse(archive, content_type="application/zip")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="my-data-{request.user.get_username()}-{stamp}.zip"'
    return response


@admin_required
def people_list(request: HttpRequest) -> HttpResponse:
    people = get_user_model().objects.order_by("username").prefetch_related("groups")
    return render(request, "trainer_app/people.html", {"people": people})


@admin_required
def person_erase_view(request: HttpRequest, user_id: int) -> HttpResponse:
    person = get_user_model().objects.filter(pk=user_id).first()
    if person is None:
        raise Http404("No such person.")
    form = PersonEraseForm(request.POST or None, username=person.get_username())
    error, counts = "", None
    if request.method == "POST" and form.is_valid():
        try:
            counts = person_erase(user=person, erased_by=request.user)
        except ErasureRefused as exc:
            error = str(exc)
    status = 200 if counts or request.method == "GET" else 400
    return render(request, "trainer_app/person_erase.html",
                  {"person": person, "form": form, "error": error, "counts": counts}, status=status)
