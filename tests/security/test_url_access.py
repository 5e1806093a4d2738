"""Every URL in the project, every role: who gets in, who is refused, and no 500s.

The table EXPECTED classifies each named URL; a URL added to the project
without a row here fails test_every_url_is_classified, so it cannot escape
these checks."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ROLES = ("anonymous", "trainee", "other_trainee", "instructor", "other_instructor", "admin")

# Public by design (no login) or Django's own auth flow: not checked for access.
PUBLIC = {"login", "logout", "healthz", "password_reset", "password_reset_done", "password_reset_confirm",
          "password_reset_complete"}

DENY = (403, 404)
GET_ONLY_POST = 405  # a POST-only endpoint answers GET with 405

# name -> {role: allowed status codes for GET}. Anonymous is checked separately (login or refusal).
_session = {"trainee": (200,), "instructor": (200,), "admin": (200,),
            "other_trainee": DENY, "other_instructor": DENY}
_session_post = {r: (GET_ONLY_POST,) + DENY for r in ROLES[1:]}
# The world's session is still running: its debrief is closed (403 with the reason) to those who may view it.
_debrief_of_live_session = {"trainee": (403,), "instructor": (403,), "admin": (403,),
                            "other_trainee": DENY, "other_instructor": DENY}
_admin_page = {"trainee": (403,), "other_trainee": (403,), "instructor": (403,), "other_instructor": (403,),
               "admin": (200,)}
_admin_post = {"trainee": (403, 405), "other_trainee": (403, 405), "instructor": (403, 405),
               "other_instructor": (403, 405), "admin": (405,)}
_any_user = {r: (200,) for r in ROLES[1:]}
_voice_own = {"trainee": (200,), "other_trainee": (404,), "instructor": (404,), "other_instructor": (404,),
              "admin": (200,)}
_cohort = {"trainee": (403,), "other_trainee": (403,), "instructor": (200,), "other_instructor": (404,), "admin": (200,)}

EXPECTED: dict[str, dict[str, tuple[int, ...]]] = {
    "home": {r: (302,) for r in ROLES[1:]},
    "dashboard": _any_user,
    "password_change": _any_user,
    "password_change_done": _any_user,
    "cohorts": {"trainee": (403,), "other_trainee": (403,), "instructor": (200,), "other_instructor": (200,),
                "admin": (200,)},
    "cohort_exam_choice": {r: (GET_ONLY_POST,) for r in ROLES[1:]},
    "privacy": _any_user,
    "privacy_consent": {r: (GET_ONLY_POST,) for r in ROLES[1:]},
    "privacy_export": _any_user,
    "people": _admin_page,
    "person_erase": _admin_page,
    "health": _admin_page,
    # the brief: assigned trainees; instructors and admins may read any brief (they try scenarios out)
    "simulations:scenario_brief": {"trainee": (200,), "other_trainee": (404,), "instructor": (200,),
                                   "other_instructor": (200,), "admin": (200,)},
    "simulations:author_home": {**_admin_page, "admin": (302,)},
    "simulations:author_scenario_list": _admin_page,
    "simulations:author_scenario_create": _admin_page,
    "simulations:author_scenario_edit": _admin_page,
    "simulations:author_scenario_duplicate": _admin_post,
    "simulations:author_scenario_preview": _admin_page,
    "simulations:author_scenario_try": _admin_post,
    "simulations:author_persona_list": _admin_page,
    "simulations:author_persona_create": _admin_page,
    "simulations:author_persona_edit": _admin_page,
    "simulations:author_persona_duplicate": _admin_post,
    "simulations:author_pack_import": _admin_page,
    "simulations:author_pack_export": _admin_page,
    "simulations:session_page": _session,
    "simulations:session_voice": _session_post,
    "simulations:session_end": _session_post,
    "feedback:author_framework_list": _admin_page,
    "feedback:author_framework_detail": _admin_page,
    "feedback:author_exemplar_create": _admin_page,
    "feedback:author_exemplar_edit": _admin_page,
    "feedback:author_exemplar_delete": _admin_post,
    "feedback:debrief": _debrief_of_live_session,
    "feedback:debrief_markdown": _debrief_of_live_session,
    "feedback:debrief_json": _debrief_of_live_session,
    "feedback:debrief_formulation": _debrief_of_live_session,
    "feedback:review_session": {"trainee": (403,), "other_trainee": (403,), "instructor": (200,),
                                "other_instructor": (404,), "admin": (200,)},
    "feedback:review_item": {r: (GET_ONLY_POST,) for r in ROLES[1:]},
    "feedback:review_release": {r: (GET_ONLY_POST,) for r in ROLES[1:]},
    # Recordings: instructors of the recording's cohort and admins; trainees never (403); other instructors 404.
    "feedback:recording_list": {"trainee": (403,), "other_trainee": (403,), "instructor": (200,), "other_instructor": (200,),
                                "admin": (200,)},
    "feedback:recording_upload": {r: (GET_ONLY_POST,) for r in ROLES[1:]},
    **{name: {"trainee": (403,), "other_trainee": (403,), "instructor": (200,), "other_instructor": (404,), "admin": (200,)}
       for name in ("feedback:recording_detail", "feedback:recording_progress", "feedback:recording_audio",
                    "feedback:recording_export")},
    **{name: {"trainee": (403, 405), "other_trainee": (403, 405), "instructor": (405,), "other_instructor": (405,), "admin": (405,)}
       for name in ("feedback:recording_retry", "feedback:recording_delete", "feedback:recording_framework",
                    "feedback:recording_speaker_rename", "feedback:recording_speaker_merge", "feedback:recording_segment_reassign",
                    "feedback:recording_segment_restore", "feedback:recording_item_review")},
    # voice enrolment: each person's own page; someone's enrolment only to them and admins (404 to
    # everyone else, their instructor included); recording or uploading for someone is for admins
    "voice_enrolment": _any_user,
    "voice_enrolment_users": _admin_page,
    "voice_enrolment_user": _admin_page,
    "voice_enrolment_status": _voice_own,
    "voice_enrolment_audio": _voice_own,
    "voice_enrolment_delete": {r: (GET_ONLY_POST,) for r in ROLES[1:]},
    "feedback:review_comment": {r: (GET_ONLY_POST,) for r in ROLES[1:]},
    # a voice turn's recording: whoever may see the session (the world's turn is text, so 404 even then)
    "feedback:turn_audio": {r: DENY for r in ROLES[1:]},
    # analytics: instructors see only their own cohorts (404 for another's), trainees none (403); admins all
    "feedback:cohort_dashboard": _cohort,
    "feedback:cohort_report": _cohort,
    "feedback:cohort_export": _cohort,
    # a trainee's profile: the trainee, their instructors, admins
    "feedback:trainee_profile": {"trainee": (200,), "other_trainee": (404,), "instructor": (200,),
                                 "other_instructor": (404,), "admin": (200,)},
    "feedback:admin_overview": _admin_page,
}


def _patterns(resolvers=None, prefix="", namespace=""):
    """(qualified name, route, pattern) for every URL pattern, recursively."""
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            yield from _patterns(entry.url_patterns, route, f"{ns}" if ns else namespace)
        elif isinstance(entry, URLPattern):
            qualified = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield qualified, route, entry


def _kwargs_for(route: str, pattern: URLPattern, world) -> dict:
    """Real objects for every parameter, chosen by parameter name and route."""
    kwargs = {}
    for param in pattern.pattern.converters:
        if param in pattern.default_args:
            continue
        if param == "slug":
            if route.startswith("author/personas/"):
                kwargs[param] = world["persona"].slug
            elif route.startswith("author/frameworks/"):
                kwargs[param] = world["framework"].slug
            else:  # author/scenarios/..., practice/scenarios/...
                kwargs[param] = world["scenario"].slug
        elif param == "pk" and "exemplars/" in route:
            kwargs[param] = world["exemplar"].pk
        elif param in ("pk", "session_id"):
            kwargs[param] = world["session"].pk
        elif param == "user_id":
            kwargs[param] = world["other_trainee"].pk
        elif param == "cohort_id":
            kwargs[param] = world["cohort"].pk
        elif param == "item_id":
            kwargs[param] = world["recording_item" if route.startswith("recordings/") else "item"].pk
        elif param == "recording_id":
            kwargs[param] = world["recording"].pk
        elif param == "speaker_id":
            kwargs[param] = world["recording_speaker"].pk
        elif param == "segment_id":
            kwargs[param] = world["recording_segment"].pk
        elif param == "fmt":
            kwargs[param] = "vtt"
        elif param == "enrolment_id":
            kwargs[param] = world["voice_enrolment"].pk
        elif param == "turn_id":
            kwargs[param] = world["item"].assessment.turn_id
        elif param == "trainee_id":
            kwargs[param] = world["trainee"].pk
        elif param == "table":
            kwargs[param] = "heatmap"
        else:
            raise AssertionError(f"no object for parameter {param!r} of {route!r}: add it to _kwargs_for")
    return kwargs


def _urls(world) -> dict[str, str]:
    urls = {}
    for name, route, pattern in _patterns():
        if route.startswith("admin/") or name in PUBLIC or name is None:
            continue
        urls[name] = reverse(name, kwargs=_kwargs_for(route, pattern, world))
    return urls


def test_every_url_is_classified(world):
    names = set(_urls(world))
    assert names - set(EXPECTED) == set(), "URLs without an access rule in this test"
    assert set(EXPECTED) - names == set(), "rules for URLs that no longer exist"


def test_anonymous_is_sent_to_login_or_refused(client, world):
    offenders = []
    for name, url in _urls(world).items():
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            ok = (response.status_code == 302 and response["Location"].startswith(LOGIN)) or response.status_code in (
                403, 404, 405)
            if not ok:
                offenders.append(f"{method.upper()} {url} ({name}) -> {response.status_code}")
    assert offenders == []


@pytest.mark.parametrize("role", ROLES[1:])
def test_each_role_gets_what_its_role_allows_and_no_500(client, world, role):
    client.force_login(world[role])
    offenders = []
    for name, url in _urls(world).items():
        response = client.get(url)
        allowed = EXPECTED[name][role]
        if response.status_code not in allowed or response.status_code >= 500:
            offenders.append(f"GET {url} ({name}) as {role} -> {response.status_code}, expected {allowed}")
    assert offenders == []


@pytest.mark.parametrize("role", ["trainee", "other_trainee"])
def test_trainees_are_refused_every_author_and_review_url_and_staff_pages(client, world, role):
    client.force_login(world[role])
    offenders = []
    for name, url in _urls(world).items():
        if not (url.startswith(("/author/", "/review/", "/cohorts/", "/health/", "/overview/", "/recordings/"))):
            continue
        for method in ("get", "post"):
            status = getattr(client, method)(url).status_code
            # review_item is POST-only and checks the method first: GET is 405, POST must be 403
            if status not in (403, 404) and not (method == "get" and status == 405):
                offenders.append(f"{method.upper()} {url} ({name}) as {role} -> {status}")
    assert offenders == []


@pytest.mark.parametrize("role", ["other_trainee", "other_instructor"])
def test_outsiders_cannot_post_to_a_session_they_do_not_own(client, world, role):
    """End, voice, worksheet and review writes on A's session by people outside A's cohort."""
    from feedback.models import Review
    from simulations.models import PracticeSession

    client.force_login(world[role])
    s, item = world["session"], world["item"]
    posts = [
        reverse("simulations:session_end", args=[s.pk]),
        reverse("simulations:session_voice", args=[s.pk]),
        reverse("feedback:debrief_formulation", args=[s.pk]),
        reverse("feedback:review_item", args=[s.pk, item.pk]),
        reverse("feedback:review_comment", args=[s.pk, item.assessment.turn_id]),
    ]
    offenders = [f"POST {u} -> {c}" for u in posts
                 if (c := client.post(u, {"verdict": "agree", "text": "A note."}).status_code) not in DENY]
    assert offenders == []
    from feedback.models import TurnComment

    assert not TurnComment.objects.exists()
    assert PracticeSession.objects.get(pk=s.pk).status == PracticeSession.Status.ACTIVE
    assert not Review.objects.filter(item=item).exists()


def test_a_session_id_that_does_not_exist_is_404_for_everyone(client, world):
    client.force_login(world["admin"])
    for name in ("simulations:session_page", "feedback:debrief", "feedback:review_session"):
        assert client.get(reverse(name, args=[999999])).status_code == 404, name


def test_dashboards_list_only_sessions_the_viewer_may_see(client, world):
    link = reverse("simulations:session_page", args=[world["session"].pk])
    debrief = reverse("feedback:debrief", args=[world["session"].pk])
    review = reverse("feedback:review_session", args=[world["session"].pk])
    seen = {}
    for role in ROLES[1:]:
        client.force_login(world[role])
        body = client.get(reverse("dashboard")).content.decode()
        seen[role] = any(url in body for url in (link, debrief, review))
    assert seen == {"trainee": True, "other_trainee": False, "instructor": True, "other_instructor": False,
                    "admin": True}


@pytest.mark.parametrize("role", ["other_trainee", "instructor", "other_instructor"])
def test_only_the_person_or_an_admin_can_change_a_voice_enrolment(client, world, role):
    """Delete or replace trainee A's voice print, as anyone but A or an admin: refused, nothing changes."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from trainer_app.models import VoiceEnrolment

    enrolment = world["voice_enrolment"]
    client.force_login(world[role])
    assert client.post(reverse("voice_enrolment_delete", args=[enrolment.pk])).status_code == 404
    upload = {"consent": "on", "audio": SimpleUploadedFile("v.wav", b"RIFF....WAVE", content_type="audio/wav")}
    assert client.post(reverse("voice_enrolment_user", args=[world["trainee"].pk]), upload).status_code == 403
    assert list(VoiceEnrolment.objects.values_list("pk", "user_id")) == [(enrolment.pk, world["trainee"].pk)]
    # their own page only ever shows their own enrolment
    body = client.get(reverse("voice_enrolment")).content.decode()
    assert reverse("voice_enrolment_status", args=[enrolment.pk]) not in body
    assert reverse("voice_enrolment_delete", args=[enrolment.pk]) not in body
def test_cohort_pages_and_exports_name_only_the_cohorts_members(client, world):
    """Another instructor's cohort is 404 on every analytics URL and its trainee never appears in an export."""
    cohort = world["cohort"]
    names = ("feedback:cohort_dashboard", "feedback:cohort_report")
    client.force_login(world["other_instructor"])
    for name in names:
        assert client.get(reverse(name, args=[cohort.pk])).status_code == 404
    for table in ("heatmap", "sessions", "items", "trajectories", "volume", "distribution"):
        assert client.get(reverse("feedback:cohort_export", args=[cohort.pk, table])).status_code == 404
    client.force_login(world["instructor"])
    url = reverse("feedback:cohort_export", args=[cohort.pk, "sessions"]) + f"?framework={world['framework'].slug}"
    body = client.get(url).content.decode()
    assert world["trainee"].username in body and world["other_trainee"].username not in body
