"""Cohort dashboard, exports, trainee profile, review comments and audio, admin overview (Django client)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from feedback.models import Assessment, AssessmentItem, Review, SessionRollup, TurnComment
from feedback.services.reviews import review_record
from simulations.models import PracticeSession, Turn, VoiceClip
from tests.factories import CohortFactory, FrameworkFactory, UserFactory
from tests.feedback.live_support import assessment_make, session_make, turn_add
from tests.support.cohort_data import cohort_generate

pytestmark = pytest.mark.django_db


@pytest.fixture
def small(db):
    """A cohort: trainee A improves on 'assert' over two sessions (the second corrected by the instructor);
    trainee B has one session; an exam session for A; another instructor with another cohort."""
    framework = FrameworkFactory()
    instructor = UserFactory(role="instructor")
    a, b = UserFactory(role="trainee", username="ann"), UserFactory(role="trainee", username="bob")
    cohort = CohortFactory(owner=instructor, members=[a, b])
    now = timezone.now()
    s1 = session_make(trainee=a, framework_slugs=[framework.slug], status="ended")
    assessment_make(turn=turn_add(session=s1, text="Could we maybe talk?"), framework=framework, labels={"describe": "weak", "assert": "absent"})
    s2 = session_make(trainee=a, framework_slugs=[framework.slug], status="ended")
    second = assessment_make(turn=turn_add(session=s2, text="I want the Friday off."), framework=framework,
                             labels={"describe": "strong", "assert": "weak"})
    review_record(item=second.items.get(skill="assert"), reviewer=instructor, verdict="disagree", corrected_label="strong",
                  corrected_text="A clear ask.")
    s3 = session_make(trainee=b, framework_slugs=[framework.slug], status="ended")
    assessment_make(turn=turn_add(session=s3, text="Whatever."), framework=framework, labels={"describe": "absent", "assert": "absent"})
    exam = session_make(trainee=a, framework_slugs=[framework.slug], status="ended", exam=True)
    assessment_make(turn=turn_add(session=exam, text="Exam line."), framework=framework, labels={"describe": "absent", "assert": "absent"})
    for i, s in enumerate([s1, s2, s3]):  # distinct, ordered start times; the exam last
        PracticeSession.objects.filter(pk=s.pk).update(started_at=now - dt.timedelta(days=10 - i), ended_at=now - dt.timedelta(days=10 - i, minutes=-12))
    PracticeSession.objects.filter(pk=exam.pk).update(started_at=now - dt.timedelta(days=1))
    other = UserFactory(role="instructor")
    CohortFactory(owner=other, members=[UserFactory(role="trainee")])
    return {"framework": framework, "instructor": instructor, "a": a, "b": b, "cohort": cohort, "s1": s1, "s2": s2, "s3": s3,
            "exam": exam, "other_instructor": other, "admin": UserFactory(role="admin")}


def _url(w, **params):
    from urllib.parse import urlencode

    return reverse("feedback:cohort_dashboard", args=[w["cohort"].pk]) + "?" + urlencode({"framework": w["framework"].slug, **params})


def _cells(body: str) -> dict:
    """(trainee, skill) -> data-latest from the heatmap."""
    import re

    out = {}
    for row in re.findall(r'<tr data-testid="heat-row" data-trainee="([^"]+)">(.*?)</tr>', body, flags=re.S):
        for skill, latest in re.findall(r'data-testid="heat-cell" data-skill="([^"]+)" data-latest="([^"]*)"', row[1]):
            out[(row[0], skill)] = latest
    return out


def test_heatmap_shows_latest_level_with_the_instructors_correction_and_the_change(client, small):
    client.force_login(small["instructor"])
    response = client.get(_url(small, mode="practice"))
    assert response.status_code == 200
    body = response.content.decode()
    cells = _cells(body)
    # ann: assert absent (0) then weak corrected to strong (1); describe weak (0.5) then strong (1)
    assert cells[("ann", "assert")] == "1.0"
    assert cells[("ann", "describe")] == "1.0"
    assert cells[("bob", "assert")] == "0.0"
    assert "0% → 100% ▲ +100 pts" in body
    # the weakest skill links to a turn that shows it
    assert f'/review/sessions/{small["s3"].pk}/#turn-' in body


def test_exam_filter_and_dates_are_kept_in_the_url_and_applied(client, small):
    client.force_login(small["instructor"])
    body = client.get(_url(small, mode="exam")).content.decode()
    cells = _cells(body)
    assert cells[("ann", "assert")] == "0.0"  # only the exam session
    assert cells[("bob", "assert")] == ""
    assert "mode=exam" in body  # export and report links carry the filters
    later = (timezone.now() - dt.timedelta(days=8)).date().isoformat()
    cells = _cells(client.get(_url(small, mode="practice", date_from=later)).content.decode())
    assert cells[("ann", "assert")] == ""  # ann's practice sessions are older
    assert cells[("bob", "assert")] == "0.0"


def test_bad_filters_get_a_clear_error_and_a_400(client, small):
    client.force_login(small["instructor"])
    response = client.get(_url(small, date_from="2026-05-02", date_to="2026-05-01"))
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    response = client.get(_url(small, framework="no-such-framework"))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    export = client.get(reverse("feedback:cohort_export", args=[small["cohort"].pk, "heatmap"]) + "?date_from=yesterday")
    assert export.status_code == 400 and b"date_from" in export.content


def test_sorting_by_a_skills_latest_level(client, small):
    client.force_login(small["instructor"])
    body = client.get(_url(small, mode="practice", sort="latest", skill="assert")).content.decode()
    assert body.index('data-trainee="bob"') < body.index('data-trainee="ann"')
    body = client.get(_url(small, mode="practice", sort="latest", skill="assert", desc=1)).content.decode()
    assert body.index('data-trainee="ann"') < body.index('data-trainee="bob"')


def test_heatmap_pages_follow_the_sort_over_the_whole_cohort(client, small, monkeypatch):
    from feedback.views import analytics

    monkeypatch.setattr(analytics, "HEATMAP_PAGE_SIZE", 1)
    client.force_login(small["instructor"])
    first = client.get(_url(small, mode="practice", sort="latest", skill="assert", desc=1)).content.decode()
    assert list(_cells(first)) and {t for t, _ in _cells(first)} == {"ann"}  # the best latest level first
    assert 'data-testid="heat-pager"' in first and "Trainees 1–1 of 2" in first
    second_url = re.search(r'href="\?([^"#]*page=2[^"#]*)#heatmap" data-testid="heat-next"', first).group(1)
    second = client.get(_url(small) .split("?")[0] + "?" + second_url.replace("&amp;", "&")).content.decode()
    assert {t for t, _ in _cells(second)} == {"bob"} and "Trainees 2–2 of 2" in second
    assert 'data-testid="heat-next"' not in second and 'data-testid="heat-previous"' in second
    # summaries still cover both trainees, a page past the end shows the last, and print shows everyone
    assert 'data-testid="summary-trainees">2<' in second
    past = client.get(_url(small, mode="practice", page=9)).content.decode()
    assert "Trainees 2–2 of 2" in past
    bad = client.get(_url(small, page=0))
    assert bad.status_code == 400
    report = client.get(reverse("feedback:cohort_report", args=[small["cohort"].pk]) + f"?framework={small['framework'].slug}")
    assert {t for t, _ in _cells(report.content.decode())} == {"ann", "bob"}


def test_instructors_see_only_their_cohorts(client, small):
    client.force_login(small["other_instructor"])
    assert client.get(_url(small)).status_code == 404
    assert client.get(reverse("feedback:cohort_export", args=[small["cohort"].pk, "heatmap"])).status_code == 404
    client.force_login(small["admin"])
    assert client.get(_url(small)).status_code == 200
    client.force_login(small["a"])
    assert client.get(_url(small)).status_code == 403


def _rows(response) -> list[dict]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_csv_exports_match_the_page(client, small):
    client.force_login(small["instructor"])
    cells = _cells(client.get(_url(small, mode="practice")).content.decode())
    base = reverse("feedback:cohort_export", args=[small["cohort"].pk, "heatmap"]) + f"?framework={small['framework'].slug}&mode=practice"
    rows = _rows(client.get(base))
    assert {(r["trainee"], r["skill"]): r["latest"] for r in rows} == {k: (v if v == "" else str(float(v))) for k, v in cells.items()}
    ann_assert = next(r for r in rows if r["trainee"] == "ann" and r["skill"] == "assert")
    assert (ann_assert["first"], ann_assert["change"], ann_assert["sessions"]) == ("0.0", "1.0", "2")
    items = _rows(client.get(base.replace("heatmap.csv", "items.csv")))
    corrected = next(r for r in items if r["skill"] == "assert" and r["text"] == "I want the Friday off.")
    assert (corrected["engine_label"], corrected["effective_label"], corrected["review_comment"]) == ("weak", "strong", "A clear ask.")
    assert len(items) == 6  # 3 practice turns x 2 skills
    Turn.objects.filter(session=small["s3"], speaker="trainee").update(text="=HYPERLINK(\"http://x\")")
    items = _rows(client.get(base.replace("heatmap.csv", "items.csv")))
    assert {r["text"] for r in items if int(r["session_id"]) == small["s3"].pk} == {"'=HYPERLINK(\"http://x\")"}
    sessions = _rows(client.get(base.replace("heatmap.csv", "sessions.csv")))
    assert {int(r["session_id"]) for r in sessions} == {small["s1"].pk, small["s2"].pk, small["s3"].pk}
    for table in ("trajectories", "volume", "distribution"):
        response = client.get(base.replace("heatmap.csv", f"{table}.csv"))
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), table
    assert client.get(base.replace("heatmap.csv", "nope.csv")).status_code == 404


def test_printable_report_has_the_tables_open(client, small):
    client.force_login(small["instructor"])
    body = client.get(reverse("feedback:cohort_report", args=[small["cohort"].pk]) + f"?framework={small['framework'].slug}").content.decode()
    assert 'data-testid="cohort-report"' in body and 'data-testid="heatmap"' in body
    assert '<details class="data-table" open>' in body


def _page_queries(client, url) -> int:
    client.get(url)  # rollups built
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_trainees_or_sessions(client, db):
    framework = FrameworkFactory()
    small = cohort_generate(framework=framework, trainees=2, sessions=2, turns=2, seed=1, name="qa")
    large = cohort_generate(framework=framework, trainees=6, sessions=5, turns=3, seed=2, name="qb", reviews_every=5)
    counts = []
    for gen in (small, large):
        client.force_login(gen.instructor)
        counts.append(_page_queries(client, reverse("feedback:cohort_dashboard", args=[gen.cohort.pk]) + f"?framework={framework.slug}"))
    assert counts[0] == counts[1], counts
    assert 8 <= counts[1] <= 20, counts
    # the trainee profile too
    profile = []
    for gen in (small, large):
        profile.append(_page_queries(_logged(client, gen.instructor), reverse("feedback:trainee_profile", args=[gen.trainee_ids[0]])))
    assert profile[0] == profile[1], profile
    assert 5 <= profile[1] <= 16, profile


def _logged(client, user):
    client.force_login(user)
    return client


def test_rollups_follow_reviews_and_new_assessments(client, small, django_capture_on_commit_callbacks):
    client.force_login(small["instructor"])
    url = _url(small, mode="practice")
    assert _cells(client.get(url).content.decode())[("bob", "assert")] == "0.0"
    assert SessionRollup.objects.filter(session=small["s3"]).exists()
    item = AssessmentItem.objects.get(assessment__turn__session=small["s3"], skill="assert")
    with django_capture_on_commit_callbacks(execute=True):
        review_record(item=item, reviewer=small["instructor"], verdict="disagree", corrected_label="weak", corrected_text="Some ask.")
    assert not SessionRollup.objects.filter(session=small["s3"]).exists()
    assert _cells(client.get(url).content.decode())[("bob", "assert")] == "0.5"
    with django_capture_on_commit_callbacks(execute=True):
        assessment_make(turn=turn_add(session=small["s3"], text="I need the rota fixed."), framework=small["framework"],
                        labels={"describe": "strong", "assert": "strong"})
    assert _cells(client.get(url).content.decode())[("bob", "assert")] == "0.75"


def test_trainee_profile_access_and_content(client, small):
    TurnComment.objects.create(session=small["s2"], turn=small["s2"].turns.get(index=1), author=small["instructor"], text="Good ask.")
    url = reverse("feedback:trainee_profile", args=[small["a"].pk])
    for user, status in ((small["a"], 200), (small["instructor"], 200), (small["admin"], 200), (small["b"], 404),
                         (small["other_instructor"], 404)):
        client.force_login(user)
        assert client.get(url).status_code == status, user
    client.force_login(small["instructor"])
    body = client.get(url).content.decode()
    assert 'data-testid="profile-trajectory"' in body and "Good ask." in body
    assert body.count('data-testid="profile-session"') == 3


def test_comment_on_a_turn_reaches_the_trainees_debrief(client, small):
    session, turn = small["s1"], small["s1"].turns.get(index=1)
    url = reverse("feedback:review_comment", args=[session.pk, turn.pk])
    client.force_login(small["instructor"])
    response = client.post(url, {"text": "Say what you want first."}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Say what you want first." in response.content.decode()
    empty = client.post(url, {"text": "   "}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 422 and "This field is required." in empty.content.decode()
    plain = client.post(url, {"text": "Second note."})
    assert plain.status_code == 302 and plain["Location"].endswith("#turn-1")
    comment = TurnComment.objects.filter(turn=turn).first()
    assert comment.at_seconds >= 0 and TurnComment.objects.filter(turn=turn).count() == 2
    client.force_login(small["other_instructor"])
    assert client.post(url, {"text": "Not mine."}).status_code == 404
    client.force_login(small["a"])
    assert client.post(url, {"text": "Self praise."}).status_code == 403
    body = client.get(reverse("feedback:debrief", args=[session.pk])).content.decode()
    assert 'data-testid="debrief-comment"' in body and "Say what you want first." in body
    assert TurnComment.objects.filter(turn=turn).count() == 2


def test_rubric_override_needs_a_comment(client, small):
    item = AssessmentItem.objects.get(assessment__turn__session=small["s3"], skill="describe")
    client.force_login(small["instructor"])
    url = reverse("feedback:review_item", args=[small["s3"].pk, item.pk])
    response = client.post(url, {"verdict": "disagree", "corrected_label": "strong", "corrected_text": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "A changed rating needs a comment" in response.content.decode()
    assert not Review.objects.filter(item=item).exists()
    saved = client.post(url, {"verdict": "disagree", "corrected_label": "strong", "corrected_text": "Clear facts."}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200 and Review.objects.get(item=item).corrected_label == "strong"


def test_voice_turn_audio_is_served_only_to_who_may_see_the_session(client, small, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    session = small["s1"]
    turn = Turn.objects.create(session=session, index=5, speaker=Turn.Speaker.TRAINEE, text="By voice.", source=Turn.Source.VOICE)
    clip = VoiceClip(session=session, mime_type="audio/webm", size_bytes=4, client_id="c1", status="done", turn=turn)
    clip.audio.save("c1.webm", ContentFile(b"RIFF"), save=True)
    url = reverse("feedback:turn_audio", args=[session.pk, turn.pk])
    for user, status in ((small["a"], 200), (small["instructor"], 200), (small["b"], 404), (small["other_instructor"], 404)):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == status, user
        if status == 200:
            assert b"".join(response.streaming_content) == b"RIFF" and response["Content-Type"] == "audio/webm"
    client.force_login(small["instructor"])
    assert client.get(reverse("feedback:turn_audio", args=[session.pk, small["s1"].turns.get(index=1).pk])).status_code == 404
    review = client.get(reverse("feedback:review_session", args=[session.pk])).content.decode()
    assert f'src="{url}"' in review


def test_review_shows_the_persona_state_chart_with_its_table(client, small):
    session = small["s1"]
    PracticeSession.objects.filter(pk=session.pk).update(persona_state={"history": [
        {"turn": 1, "trust": 0.2, "level": 0, "mood": "guarded"}, {"turn": 2, "trust": 0.45, "level": 2, "mood": "open"}]})
    client.force_login(small["instructor"])
    body = client.get(reverse("feedback:review_session", args=[session.pk])).content.decode()
    assert 'data-testid="persona-chart"' in body and "automatic thoughts" in body and "45%" in body


def test_admin_overview_counts_fallbacks_and_latency(client, small):
    turn = small["s1"].turns.get(index=1)
    Assessment.objects.filter(turn=turn).update(backend="rubric-offline (fallback from llm:m: timed out)", elapsed_ms=900)
    Turn.objects.create(session=small["s1"], index=9, speaker=Turn.Speaker.PERSONA, text="Hm.",
                        meta={"engine": "scripted (fallback from llm:m)"})
    client.force_login(small["admin"])
    body = client.get(reverse("feedback:admin_overview")).content.decode()
    assert "timed out" in body and "scripted (fallback from llm:m): 1" in body
    assert 'data-testid="fallback-chart"' in body
    client.force_login(small["instructor"])
    assert client.get(reverse("feedback:admin_overview")).status_code == 403


def test_mi_dashboard_shows_miti_figures_against_their_targets(client, db):
    from tests.feedback.live_support import starter_framework_install

    mi = starter_framework_install("mi")
    instructor = UserFactory(role="instructor")
    trainee = UserFactory(role="trainee", username="mia")
    cohort = CohortFactory(owner=instructor, members=[trainee])
    session = session_make(trainee=trainee, framework_slugs=["mi"], status="ended")
    codes = [{"behaviour": "reflection", "reflection": "complex"}, {"behaviour": "reflection", "reflection": "simple"},
             {"behaviour": "question", "question": "closed", "reflection": "complex"}, {"behaviour": "question", "question": "open"}]
    for i, labels in enumerate(codes):
        assessment_make(turn=turn_add(session=session, text=f"Coded turn {i}."), framework=mi, labels=labels)
    client.force_login(instructor)
    response = client.get(reverse("feedback:cohort_dashboard", args=[cohort.pk]) + "?framework=mi")
    assert response.status_code == 200
    cells = _cells(response.content.decode())
    assert cells[("mia", "reflection_to_question_ratio")] == "1.0"
    assert cells[("mia", "percent_complex_reflections")] == "50.0"
    assert cells[("mia", "percent_open_questions")] == "50.0"
    body = response.content.decode()
    assert "% open questions" in body and "target" in body
    assert 'data-testid="chart-target"' in body  # the MITI target line on the trajectories
    # the weakest figure links to a closed question
    assert "Coded turn 2." in body
    rows = _rows(client.get(reverse("feedback:cohort_export", args=[cohort.pk, "distribution"]) + "?framework=mi"))
    assert {(r["skill"], r["label"]): r["items"] for r in rows}[("behaviour", "reflection")] == "2"
