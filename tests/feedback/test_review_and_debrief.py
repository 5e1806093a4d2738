"""Debrief and review pages: access, effective labels, downloads, corrections becoming exemplars."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from feedback.models import Exemplar, Review
from feedback.scoring import miti_summary
from feedback.selectors.assessments import item_effective_label
from feedback.services.reviews import ReviewError, review_record
from tests.factories import TEST_PASSWORD, FrameworkFactory
from tests.feedback.live_support import assessment_make, people, session_make, turn_add

pytestmark = pytest.mark.django_db


def _login(client, user):
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


@pytest.fixture
def world():
    p = people()
    framework = FrameworkFactory()  # skills describe, assert; labels strong/weak/absent
    session = session_make(trainee=p["trainee"], framework_slugs=[framework.slug], status="ended")
    turn = turn_add(session=session, text="You never listen and I want more money.")
    assessment = assessment_make(turn=turn, framework=framework, labels={"describe": "weak", "assert": "absent"},
                                 rewrite="I'd like to discuss a raise of 5% from April.")
    return {**p, "framework": framework, "session": session, "turn": turn, "assessment": assessment}


@pytest.mark.parametrize("who,status", [
    ("trainee", 200), ("instructor", 200), ("admin", 200), ("other_trainee", 404), ("other_instructor", 404),
])
def test_debrief_access(client, world, who, status):
    response = _login(client, world[who]).get(reverse("feedback:debrief", args=[world["session"].pk]))
    assert response.status_code == status
    download = client.get(reverse("feedback:debrief_markdown", args=[world["session"].pk]))
    assert download.status_code == status


def test_debrief_requires_login(client, world):
    response = client.get(reverse("feedback:debrief", args=[world["session"].pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who,status", [
    ("instructor", 200), ("admin", 200), ("trainee", 403), ("other_trainee", 403), ("other_instructor", 404),
])
def test_review_access(client, world, who, status):
    _login(client, world[who])
    assert client.get(reverse("feedback:review_session", args=[world["session"].pk])).status_code == status
    item = world["assessment"].items.get(skill="assert")
    post = client.post(reverse("feedback:review_item", args=[world["session"].pk, item.pk]), {"verdict": "agree"},
                       HTTP_HX_REQUEST="true")
    assert post.status_code == status
    assert Review.objects.filter(item=item).exists() == (status == 200)


def test_correction_becomes_exemplar_and_wins_in_debrief(client, world):
    session, item = world["session"], world["assessment"].items.get(skill="assert")
    _login(client, world["instructor"])
    response = client.post(
        reverse("feedback:review_item", args=[session.pk, item.pk]),
        {"verdict": "disagree", "corrected_label": "strong", "corrected_text": "That is a clear ask.", "corrected_rewrite": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="review-item"' in html and 'data-label="strong"' in html and "That is a clear ask." in html
    assert item_effective_label(item=item) == "strong"

    exemplar = Exemplar.objects.get(source=Exemplar.Source.CORRECTION)
    assert (exemplar.framework_id, exemplar.skill, exemplar.label) == (world["framework"].pk, "assert", "strong")
    assert exemplar.utterance == world["turn"].text and exemplar.created_by == world["instructor"]
    assert exemplar.context == [{"speaker": "partner", "text": "So what did you want to talk about?"}]
    from feedback.selectors.frameworks import framework_pack_dict

    assert str(exemplar.pk) in {e["id"] for e in framework_pack_dict(slug=world["framework"].slug)["exemplars"]}

    # The trainee's debrief scores the instructor's label: assert strong = 1, describe weak = 0.5.
    client.logout()
    _login(client, world["trainee"])
    page = client.get(reverse("feedback:debrief", args=[session.pk])).content.decode()
    assert 'data-testid="debrief"' in page
    assert 'data-skill="assert" data-score="1.0"' in page
    assert 'data-skill="describe" data-score="0.5"' in page
    assert "corrected by instructor" in page
    data = json.loads(client.get(reverse("feedback:debrief_json", args=[session.pk])).content)
    scores = {s["skill"]: s["score"] for s in data["frameworks"][0]["scores"]}
    assert scores == {"describe": 0.5, "assert": 1.0}


def test_review_form_renders_the_django_form_with_its_errors(client, world):
    session, item = world["session"], world["assessment"].items.get(skill="assert")
    _login(client, world["instructor"])
    page = client.get(reverse("feedback:review_session", args=[session.pk])).content.decode()
    # The correction form is the Django form: its choices are the skill's labels, ids unique per item.
    assert f'id="id_review_{item.pk}_corrected_label"' in page and '<option value="" selected>(keep absent)</option>' in page
    assert '<option value="partly">Partly agree</option>' in page and 'data-testid="review-label"' in page
    url = reverse("feedback:review_item", args=[session.pk, item.pk])
    bad = {"verdict": "partly", "corrected_label": "complex", "corrected_text": "x" * 5001}
    response = client.post(url, bad, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 422 and "<html" not in html  # the item's partial, swapped in place
    assert 'data-testid="review-field-error" data-field="corrected_label"' in html
    assert "complex is not one of the available choices" in html
    assert 'data-testid="review-field-error" data-field="corrected_text"' in html and "at most 5000 characters" in html
    assert "<details class=\"review-correct\" open>" in html and "x" * 5001 in html  # what was typed is kept
    assert not Review.objects.filter(item=item).exists()
    # A verdict that is not one of the correction form's choices is a field error too.
    html = client.post(url, {"verdict": "maybe"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-field="verdict"' in html


def test_review_without_htmx_gets_the_whole_page(client, world):
    session, item = world["session"], world["assessment"].items.get(skill="assert")
    _login(client, world["instructor"])
    url = reverse("feedback:review_item", args=[session.pk, item.pk])
    response = client.post(url, {"verdict": "disagree", "corrected_label": "nope"})
    html = response.content.decode()
    assert response.status_code == 422 and 'data-testid="review"' in html and "<html" in html
    assert html.count('data-testid="review-field-error"') == 1 and "nope is not one of the available choices" in html
    response = client.post(url, {"verdict": "disagree", "corrected_label": "strong", "corrected_text": "A direct ask."})
    assert response.status_code == 302
    assert response["Location"] == reverse("feedback:review_session", args=[session.pk]) + f"#review-item-{item.pk}"
    assert item_effective_label(item=item) == "strong"


def test_second_correction_replaces_the_first_exemplar(world):
    item = world["assessment"].items.get(skill="assert")
    review_record(item=item, reviewer=world["instructor"], verdict="disagree", corrected_label="strong")
    review_record(item=item, reviewer=world["instructor"], verdict="partly", corrected_label="weak")
    labels = list(Exemplar.objects.filter(source=Exemplar.Source.CORRECTION).values_list("label", flat=True))
    assert labels == ["weak"]
    assert item_effective_label(item=item) == "weak"
    review_record(item=item, reviewer=world["instructor"], verdict="agree")
    assert not Exemplar.objects.filter(source=Exemplar.Source.CORRECTION).exists()
    assert item_effective_label(item=item) == "absent"


def test_correction_label_must_belong_to_the_skill(world):
    item = world["assessment"].items.get(skill="assert")
    with pytest.raises(ReviewError):
        review_record(item=item, reviewer=world["instructor"], verdict="disagree", corrected_label="complex")


def test_debrief_download_and_trend_and_next_steps(client, world):
    trainee, framework = world["trainee"], world["framework"]
    # An earlier session with the same framework, all absent: the trend shows it.
    earlier = session_make(trainee=trainee, framework_slugs=[framework.slug])
    earlier.started_at = world["session"].started_at.replace(year=world["session"].started_at.year - 1)
    earlier.save(update_fields=["started_at"])
    type(earlier).objects.filter(pk=earlier.pk).update(started_at=earlier.started_at)
    assessment_make(turn=turn_add(session=earlier, text="Hi."), framework=framework, labels={"describe": "absent", "assert": "absent"})

    _login(client, trainee)
    page = client.get(reverse("feedback:debrief", args=[world["session"].pk])).content.decode()
    assert 'data-testid="skill-trend"' in page and "0% →" in page
    assert page.count('data-testid="next-step"') == 2  # only two skills below strong
    assert "I&#x27;d like to discuss a raise of 5% from April." in page
    assert 'data-testid="debrief-download"' in page

    response = client.get(reverse("feedback:debrief_markdown", args=[world["session"].pk]))
    assert response["Content-Disposition"] == f'attachment; filename="debrief-session-{world["session"].pk}.md"'
    body = response.content.decode()
    assert body.startswith("# Debrief:") and "| Describe | 50% | 0% |" in body and "You never listen" in body


def test_miti_summary_against_targets():
    codes = [
        {"behaviour": "reflection", "subtype": "complex"}, {"behaviour": "reflection", "subtype": "simple"},
        {"behaviour": "question", "subtype": "open"}, {"behaviour": "question", "subtype": "closed"},
        {"behaviour": "question", "subtype": "closed"}, {"behaviour": "other", "subtype": ""},
    ]
    summary = miti_summary(codes=codes, targets={"reflection_to_question_ratio": 1.0, "percent_complex_reflections": 40,
                                                 "percent_open_questions": 50})
    rows = {r["key"]: r for r in summary["rows"]}
    assert rows["reflection_to_question_ratio"]["value"] == 0.67 and rows["reflection_to_question_ratio"]["met"] is False
    assert rows["percent_complex_reflections"]["value"] == 50 and rows["percent_complex_reflections"]["met"] is True
    assert rows["percent_open_questions"]["value"] == 33 and rows["percent_open_questions"]["met"] is False


def test_instructor_dashboard_panel_lists_sessions_and_effective_scores(client, world):
    item = world["assessment"].items.get(skill="assert")
    review_record(item=item, reviewer=world["instructor"], verdict="disagree", corrected_label="strong")
    _login(client, world["instructor"])
    page = client.get(reverse("dashboard")).content.decode()
    assert reverse("feedback:review_session", args=[world["session"].pk]) in page
    assert 'data-skill="assert" data-score="1.0"' in page
    client.logout()
    _login(client, world["other_instructor"])
    page = client.get(reverse("dashboard")).content.decode()
    assert reverse("feedback:review_session", args=[world["session"].pk]) not in page


def test_mi_debrief_has_the_trend_over_earlier_sessions_and_three_things_to_try(client, world):
    trainee = world["trainee"]
    mi = FrameworkFactory(kind="behaviour-coding", data={
        "description": "MI", "labels": ["reflection", "question", "therapist_input", "other"],
        "skills": [
            {"slug": "behaviour", "name": "Behaviour", "definition": "Main code.", "labels": ["reflection", "question", "therapist_input", "other"]},
            {"slug": "reflection", "name": "Reflection", "definition": "Depth.", "labels": ["simple", "complex"]},
            {"slug": "question", "name": "Question", "definition": "Openness.", "labels": ["open", "closed"]},
        ],
        "targets": {"reflection_to_question_ratio": 1.0, "percent_complex_reflections": 40, "percent_open_questions": 50},
    })
    current = session_make(trainee=trainee, framework_slugs=[mi.slug], status="ended")  # a debrief opens once ended
    earlier = session_make(trainee=trainee, framework_slugs=[mi.slug])
    type(earlier).objects.filter(pk=earlier.pk).update(started_at=current.started_at.replace(year=current.started_at.year - 1))
    assessment_make(turn=turn_add(session=earlier, text="It sounds like you feel stuck."), framework=mi,
                    labels={"behaviour": "reflection", "reflection": "complex"})
    assessment_make(turn=turn_add(session=earlier, text="What would help?"), framework=mi,
                    labels={"behaviour": "question", "question": "open"})
    assessment_make(turn=turn_add(session=current, text="Do you drink every day?"), framework=mi,
                    labels={"behaviour": "question", "question": "closed"},
                    rewrite="It sounds like coming here wasn't your idea.")
    assessment_make(turn=turn_add(session=current, text="Is it hard to stop?"), framework=mi,
                    labels={"behaviour": "question", "question": "closed"})

    _login(client, trainee)
    page = client.get(reverse("feedback:debrief", args=[current.pk])).content.decode()
    assert page.count('data-testid="miti-trend"') == 3
    assert "1.0 → 0.0" in page  # reflections : questions, earlier session then this one
    assert page.count('data-testid="next-step"') == 3
    assert "Reflect before you ask" in page and "Open your questions" in page
    assert "It sounds like coming here wasn&#x27;t your idea." in page  # a rewrite from this session
    body = client.get(reverse("feedback:debrief_markdown", args=[current.pk])).content.decode()
    assert "| Reflections : questions | 0.0 | 1.0 | 1.0 |" in body and "### Three things to try next" in body


def test_a_correction_cut_off_by_the_database_is_a_503_and_changes_nothing(client, world):
    """The review, the earlier exemplar's removal and the new exemplar are one transaction: a
    connection lost at the last INSERT leaves the earlier correction in force (tests/faults/ drops a
    real PostgreSQL connection the same way)."""
    from django.db import OperationalError, connection

    session, item = world["session"], world["assessment"].items.get(skill="assert")
    _login(client, world["instructor"])
    url = reverse("feedback:review_item", args=[session.pk, item.pk])
    first = {"verdict": "disagree", "corrected_label": "strong", "corrected_text": "A clear ask.", "corrected_rewrite": ""}
    assert client.post(url, first).status_code == 302
    earlier = Exemplar.objects.get(source=Exemplar.Source.CORRECTION)

    def drop_on_exemplar_insert(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT") and Exemplar._meta.db_table in sql:
            raise OperationalError("terminating connection due to administrator command")
        return execute(sql, params, many, context)

    second = {**first, "corrected_label": "weak", "corrected_text": "Vague."}
    with connection.execute_wrapper(drop_on_exemplar_insert):
        response = client.post(url, second)
    assert response.status_code == 503 and 'data-testid="service-unavailable"' in response.content.decode()
    assert list(Review.objects.filter(item=item).values_list("corrected_label", flat=True)) == ["strong"]
    assert list(Exemplar.objects.filter(source=Exemplar.Source.CORRECTION)) == [earlier]
    assert item_effective_label(item=item) == "strong"
