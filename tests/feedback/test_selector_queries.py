"""Feedback selectors and pages read a fixed number of queries, however many
sessions, frameworks, turns and reviews they show (no query per row)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from feedback.selectors.analytics import trainee_skill_summary
from feedback.selectors.assessments import framework_infos, session_transcript, trainee_score_history
from feedback.selectors.debrief import debrief_build
from feedback.services.reviews import review_record
from simulations.models import PracticeSession
from tests.factories import TEST_PASSWORD, FrameworkFactory
from tests.feedback.live_support import assessment_make, people, session_make, turn_add

pytestmark = pytest.mark.django_db

LABELS = ["strong", "weak", "absent"]


def _world(*, frameworks: int, earlier: int, turns: int) -> dict:
    """A session assessed with ``frameworks`` frameworks over ``turns`` turns (one item
    reviewed per turn), after ``earlier`` sessions of the same trainee with the same frameworks."""
    p = people()
    fws = [FrameworkFactory() for _ in range(frameworks)]
    slugs = [f.slug for f in fws]

    def assessed(session, n):
        for t in range(n):
            turn = turn_add(session=session, text=f"turn {t}")
            for i, framework in enumerate(fws):
                a = assessment_make(turn=turn, framework=framework,
                                    labels={"describe": LABELS[(t + i) % 3], "assert": LABELS[(t + i + 1) % 3]},
                                    rewrite=f"rewrite {t}")
                review_record(item=a.items.get(skill="describe"), reviewer=p["instructor"], verdict="disagree",
                              corrected_label="strong")

    session = session_make(trainee=p["trainee"], framework_slugs=slugs)
    assessed(session, turns)
    for k in range(earlier):
        old = session_make(trainee=p["trainee"], framework_slugs=slugs)
        PracticeSession.objects.filter(pk=old.pk).update(started_at=session.started_at - timedelta(days=k + 1))
        assessed(old, 2)
    return {**p, "session": PracticeSession.objects.get(pk=session.pk), "slugs": slugs}


def _count(fn) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return len(ctx.captured_queries), result


def _small_and_large(fn):
    small = _world(frameworks=1, earlier=1, turns=1)
    large = _world(frameworks=3, earlier=4, turns=5)
    n_small, _ = _count(lambda: fn(small))
    n_large, result = _count(lambda: fn(large))
    return n_small, n_large, result, large


def test_debrief_build_queries_do_not_grow_with_frameworks_or_sessions():
    n_small, n_large, debrief, world = _small_and_large(
        lambda w: debrief_build(session=PracticeSession.objects.select_related("scenario_version", "trainee").get(pk=w["session"].pk))
    )
    assert n_large == n_small <= 12, (n_small, n_large)
    # and it did read the history: each framework's skills trend over the 4 earlier sessions
    assert len(debrief.frameworks) == 3
    assert all(len(score.previous) == 4 for section in debrief.frameworks for score in section.scores)
    assert all(section.next_steps for section in debrief.frameworks)


def test_trainee_score_history_matches_per_session_scores_and_limit():
    world = _world(frameworks=2, earlier=3, turns=1)
    infos = framework_infos(slugs=world["slugs"])
    n, history = _count(lambda: trainee_score_history(session=world["session"], frameworks=infos, limit=2))
    assert n == 4
    assert set(history) == set(world["slugs"]) and all(len(rows) == 2 for rows in history.values())
    # describe was corrected to strong everywhere; assert scores vary by turn
    assert all(row["describe"] == 1.0 for rows in history.values() for row in rows)
    assert trainee_score_history(session=world["session"], frameworks={}) == {}


def test_session_transcript_queries_do_not_grow_with_turns():
    n_small, n_large, transcript, _ = _small_and_large(lambda w: session_transcript(session=w["session"]))
    assert n_large == n_small <= 7, (n_small, n_large)
    assert sum(len(t.assessments) for t in transcript) == 15


def test_trainee_skill_summary_queries_do_not_grow_with_trainee_sessions():
    n_small, n_large, rows, _ = _small_and_large(lambda w: trainee_skill_summary(user=w["instructor"]))
    assert n_large == n_small, (n_small, n_large)
    assert len(rows) == 3 and all({s["skill"] for s in r["skills"]} == {"describe", "assert"} for r in rows)


@pytest.mark.parametrize("page,who", [("feedback:debrief", "trainee"), ("feedback:review_session", "instructor")])
def test_pages_queries_do_not_grow(client, page, who):
    def load(world):
        client.logout()
        assert client.login(username=world[who].username, password=TEST_PASSWORD)
        response = client.get(reverse(page, args=[world["session"].pk]))
        assert response.status_code == 200
        return response

    small = _world(frameworks=1, earlier=1, turns=1)
    large = _world(frameworks=3, earlier=4, turns=5)
    load(small)  # warm caches (sessions, content types)
    n_small, _ = _count(lambda: load(small))
    n_large, _ = _count(lambda: load(large))
    assert n_large == n_small, (n_small, n_large)


def test_dashboard_queries_do_not_grow(client, django_assert_max_num_queries):
    small = _world(frameworks=1, earlier=1, turns=1)
    assert client.login(username=small["instructor"].username, password=TEST_PASSWORD)
    client.get(reverse("dashboard"))
    n_small, _ = _count(lambda: client.get(reverse("dashboard")))
    large = _world(frameworks=3, earlier=4, turns=5)
    client.logout()
    assert client.login(username=large["instructor"].username, password=TEST_PASSWORD)
    client.get(reverse("dashboard"))
    with django_assert_max_num_queries(n_small):
        assert client.get(reverse("dashboard")).status_code == 200
