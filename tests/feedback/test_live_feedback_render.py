"""The live push's cheaper paths give what the slower ones gave: the partial rendered from the
assessment just stored equals the one read back from the database, the running MITI summary from
plain values equals the one from assessment views (corrections included), and the worker's
assessor is kept for its framework copy until the framework changes."""

from __future__ import annotations

import pytest

from feedback.engines import fingerprint
from feedback.models import Assessment, Review
from feedback.scoring import session_miti
from feedback.selectors.assessments import (
    assessment_view,
    assessments_with_items,
    framework_infos,
    session_miti_so_far,
)
from feedback.services import assessors
from feedback.services.assessments import turn_assess
from feedback.services.frameworks import exemplar_create
from feedback.services.live import live_feedback_html
from tests.feedback.live_support import assessment_make, people, session_make, starter_framework_install, turn_add

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(300)]

CASES = {
    "dear-man": ("interpersonal-partner", ["Hi, have you got a minute?", "I'd like you to turn it down after eleven."]),
    "mi": ("mi-client", ["What brings you in today?", "It sounds like you're worried about your health."]),
    "cbt-formulation": ("cbt-patient", ["What was going through your mind?", "What did you do next?"]),
}


@pytest.fixture(autouse=True)
def _fresh_worker_copies(fresh_worker_copies):
    return fresh_worker_copies


@pytest.mark.parametrize("slug", list(CASES))
def test_the_partial_from_the_stored_assessment_is_the_one_read_back(slug):
    starter_framework_install(slug)
    persona_kind, lines = CASES[slug]
    session = session_make(trainee=people()["trainee"], framework_slugs=[slug], persona_kind=persona_kind)
    results = []
    for line in lines:  # two turns: the MI summary then counts an earlier coded turn too
        results = turn_assess(turn_id=turn_add(session=session, text=line).pk)
    assessment, created = results[0]
    assert created and assessment.items_stored
    turn = assessment.turn
    from_memory = live_feedback_html(turn=turn, assessments=[assessment])

    assessors._current.clear()  # no worker copy: the framework is read as the catch-up reads it
    read_back = live_feedback_html(turn=turn, assessments=list(Assessment.objects.filter(pk=assessment.pk)))
    assert from_memory == read_back
    assert from_memory.count('data-testid="feedback-item"') >= 1
    if slug == "mi":
        assert 'data-testid="miti-summary"' in from_memory and "(2 coded" in from_memory


def test_the_running_miti_summary_counts_corrections_as_the_review_pages_do():
    mi = starter_framework_install("mi")
    dear_man = starter_framework_install("dear-man")
    p = people()
    session = session_make(trainee=p["trainee"], framework_slugs=["mi"], persona_kind="mi-client")
    coded = [
        ("question", "open"),
        ("question", "closed"),
        ("reflection", "simple"),
        ("question", "closed"),
        ("reflection", "complex"),
    ]
    assessments = []
    for behaviour, subtype in coded:
        turn = turn_add(session=session, text=f"A {subtype} {behaviour}.")
        assessments.append(
            assessment_make(turn=turn, framework=mi, labels={"behaviour": behaviour, behaviour: subtype})
        )
    # Corrections: a closed question was an open one; the latest of two reviews wins; a review
    # with only a new text keeps the engine's label.
    closed = assessments[1].items.get(skill="question")
    Review.objects.create(item=closed, reviewer=p["instructor"], verdict="disagree", corrected_label="open")
    twice = assessments[3].items.get(skill="behaviour")
    Review.objects.create(item=twice, reviewer=p["instructor"], verdict="disagree", corrected_label="question")
    Review.objects.create(item=twice, reviewer=p["instructor"], verdict="disagree", corrected_label="reflection")
    text_only = assessments[2].items.get(skill="reflection")
    Review.objects.create(item=text_only, reviewer=p["instructor"], verdict="partly", corrected_text="Say it back.")
    # Not counted: another framework's assessment, and a turn after the one pushed.
    assessment_make(turn=assessments[0].turn, framework=dear_man, labels={"describe": "strong"})
    pushed_turn = assessments[3].turn
    info = framework_infos(slugs=["mi"])["mi"]

    summary = session_miti_so_far(session_id=session.pk, up_to_index=pushed_turn.index, framework=info)
    views = [
        assessment_view(assessment=a, framework=info)
        for a in assessments_with_items().filter(
            turn__session_id=session.pk, turn__index__lte=pushed_turn.index, framework_slug="mi"
        )
    ]
    assert summary == session_miti(views=views, framework=info)
    # Four turns: open (q), closed→open (q), simple (r), and the twice-reviewed one, now a reflection
    # whose family label "closed" is no reflection subtype.
    assert summary["coded"] == 4 and summary["questions"] == 2 and summary["reflections"] == 2
    assert {row["key"]: row["value"] for row in summary["rows"]}["percent_open_questions"] == 100


def test_the_worker_keeps_its_assessor_until_the_framework_changes(monkeypatch):
    framework = starter_framework_install("dear-man")
    copy = assessors.framework_current(slug="dear-man")
    built = assessors.assessor_get(framework=copy)
    hashed = []
    real = fingerprint.framework_fingerprint
    monkeypatch.setattr(fingerprint, "framework_fingerprint", lambda **kw: hashed.append(1) or real(**kw))
    again = assessors.assessor_get(framework=assessors.framework_current(slug="dear-man"))
    assert again is built and hashed == []  # the same copy: no content hash, no rebuild

    exemplar_create(framework=framework, skill="assert", label="strong", utterance="I need an answer by Friday.")
    changed = assessors.framework_current(slug="dear-man")
    rebuilt = assessors.assessor_get(framework=changed)
    assert changed is not copy and rebuilt is not built and hashed  # a new copy goes through the registry
