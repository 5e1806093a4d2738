"""A practice session after it has started: the page, voice uploads, ending, debrief."""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from simulations.events import session_push
from simulations.forms.sessions import VoiceUploadForm
from simulations.models import PracticeSession, VoiceClip
from simulations.selectors.authoring import scenario_modes, scenario_time_limit_minutes
from simulations.selectors.sessions import (
    SessionAccess,
    persona_state_timeline,
    practice_session_access,
    session_turns,
    session_voice_hint,
)
from simulations.services import session_events
from simulations.services.session_end import practice_session_end
from simulations.services.turns import TurnRejected, chat_rate_limit_hit
from simulations.services.voice import voice_clip_store
from trainer_app.models import Consent
from trainer_app.outages import OUTAGE_ERRORS, outage_warn
from trainer_app.privacy.consent import consent_active, consent_statement

VOICE_CONSENT_MISSING = "Voice turns need your agreement first: use the \"I agree\" button next to the message box."
VOICE_UNAVAILABLE_MESSAGE = (
    "Your recording could not be saved: the server is briefly unavailable. Nothing was sent; record it again in a moment."
)

logger = logging.getLogger(__name__)


def _access(request: HttpRequest, pk: int) -> SessionAccess:
    access = practice_session_access(user=request.user, session_id=pk)
    if access is None:
        raise Http404("No such session.")  # not "forbidden": do not confirm it exists
    return access


def session_debrief_path(session_id: int) -> str:
    return f"/practice/sessions/{session_id}/debrief/"


@login_required
def session_page(request: HttpRequest, pk: int) -> HttpResponse:
    access = _access(request, pk)
    session = access.session
    scenario_data = session.scenario_version.scenario_data
    modes = scenario_modes(scenario_data=scenario_data)
    limit_minutes = scenario_time_limit_minutes(scenario_data=scenario_data)
    mode = request.GET.get("mode") if request.GET.get("mode") in ("text", "voice") else ("text" if modes["text"] else "voice")
    context = {
        "session": session,
        "access": access,
        "title": scenario_data.get("title") or session.scenario_version.scenario.title,
        "persona_name": session.scenario_version.persona_data.get("name", "Partner"),
        "turns": list(session_turns(session_id=session.pk)),
        "show_feedback": session.live_feedback and not session.exam,
        "modes": modes,
        "mode": mode,
        "time_limit_s": limit_minutes * 60,
        "ends_at": session.started_at + timedelta(minutes=limit_minutes),
        "voice_hint": session_voice_hint(session=session),
        "timeline": persona_state_timeline(session_id=session.pk) if access.sees_persona_state else None,
        "debrief_url": session_debrief_path(session.pk),
        "is_active": session.status == PracticeSession.Status.ACTIVE,
        "max_chars": settings.CHAT_MESSAGE_MAX_CHARS,
        "voice_consent": consent_active(user=request.user, kind=Consent.Kind.VOICE_TURNS) is not None,
        "voice_consent_statement": consent_statement(kind=Consent.Kind.VOICE_TURNS),
    }
    return render(request, "simulations/session.html", context)


def _voice_unavailable_as_notice(view):
    """The page's script puts any error answer of the voice upload in its notice slot: an outage
    (the database, or the media storage, failing) answers the notice partial with 503, never a
    whole error page. Outermost, so a failure loading the login session is caught too.

    Nothing is half-stored (voice_clip_store removes a file whose row did not commit). With only
    Redis or the broker down the clip is stored and answered 202 as usual: the rate limit counts
    in this process, and the voice sweep enqueues the clip once the broker is back."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (*OUTAGE_ERRORS, OSError) as exc:
            outage_warn(what="voice upload", exc=exc, log=logger)
            return _notice(VOICE_UNAVAILABLE_MESSAGE, status=503)

    return wrapped


@_voice_unavailable_as_notice
@login_required
@require_POST
def session_voice(request: HttpRequest, pk: int) -> HttpResponse:
    access = _access(request, pk)
    if not access.can_write:
        raise PermissionDenied("Only the session's trainee can speak in it.")
    if consent_active(user=request.user, kind=Consent.Kind.VOICE_TURNS) is None:
        return _notice(VOICE_CONSENT_MISSING, status=403)
    form = VoiceUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _notice(form.error_message(), status=400)
    if chat_rate_limit_hit(user_id=request.user.pk):
        return _notice("You're sending turns too quickly. Wait a moment and try again.", status=429)
    try:
        clip, _created = voice_clip_store(
            session=access.session, audio=form.cleaned_data["audio"], client_id=form.cleaned_data["client_id"]
        )
    except TurnRejected as exc:
        return _notice(exc.message, status=409)
    status = 202 if clip.status in (VoiceClip.Status.PENDING, VoiceClip.Status.PROCESSING) else 200
    return render(request, "simulations/session/_voice_pending.html", {"clip": clip}, status=status)


def _notice(message: str, *, status: int) -> HttpResponse:
    return HttpResponse(session_events.notice_html(message=message), status=status)


@login_required
@require_POST
def session_end(request: HttpRequest, pk: int) -> HttpResponse:
    access = _access(request, pk)
    if not access.can_write:
        raise PermissionDenied("Only the session's trainee can end it.")
    if practice_session_end(session_id=pk):  # one transaction: ended, or (503) unchanged
        event = session_events.ended_event(session_id=pk, debrief_url=session_debrief_path(pk))
        try:
            session_push(session_id=pk, **event)
        except OUTAGE_ERRORS as exc:
            # Committed already: the debrief is the answer (another open page shows it on reload).
            outage_warn(what="session end push", exc=exc, log=logger)
    return redirect(session_debrief_path(pk))
