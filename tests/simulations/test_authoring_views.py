"""Authoring UI: permissions, forms, versioning, try-it and pack upload."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from simulations.models import Persona, PracticeSession, Scenario
from tests.factories import (
    CohortFactory,
    ExemplarFactory,
    FrameworkFactory,
    PersonaFactory,
    ScenarioFactory,
    UserFactory,
)
from tests.simulations.pack_samples import as_yaml, small_pack

pytestmark = pytest.mark.django_db


def _authoring_urls(scenario, persona, exemplar) -> list[tuple[str, str]]:
    fw = exemplar.framework.slug
    return [
        ("get", reverse("simulations:author_home")),
        ("get", reverse("simulations:author_scenario_list")),
        ("get", reverse("simulations:author_scenario_create")),
        ("get", reverse("simulations:author_scenario_edit", args=[scenario.slug])),
        ("get", reverse("simulations:author_scenario_preview", args=[scenario.slug])),
        ("post", reverse("simulations:author_scenario_duplicate", args=[scenario.slug])),
        ("post", reverse("simulations:author_scenario_try", args=[scenario.slug])),
        ("get", reverse("simulations:author_persona_list")),
        ("get", reverse("simulations:author_persona_create")),
        ("get", reverse("simulations:author_persona_edit", args=[persona.slug])),
        ("post", reverse("simulations:author_persona_duplicate", args=[persona.slug])),
        ("get", reverse("simulations:author_pack_import")),
        ("get", reverse("simulations:author_pack_export")),
        ("get", reverse("feedback:author_framework_list")),
        ("get", reverse("feedback:author_framework_detail", args=[fw])),
        ("get", reverse("feedback:author_exemplar_create", args=[fw])),
        ("get", reverse("feedback:author_exemplar_edit", args=[fw, exemplar.pk])),
        ("post", reverse("feedback:author_exemplar_delete", args=[fw, exemplar.pk])),
    ]


@pytest.mark.parametrize("role", ["trainee", "instructor"])
def test_non_admins_get_403_on_every_authoring_url(client, role):
    scenario = ScenarioFactory()
    exemplar = ExemplarFactory()
    client.force_login(UserFactory(role=role))
    for method, url in _authoring_urls(scenario, scenario.persona, exemplar):
        assert getattr(client, method)(url).status_code == 403, url


def test_admin_gets_200_on_every_authoring_page(client):
    scenario = ScenarioFactory()
    exemplar = ExemplarFactory()
    client.force_login(UserFactory(role="admin"))
    for method, url in _authoring_urls(scenario, scenario.persona, exemplar):
        if method == "get":
            assert client.get(url, follow=True).status_code == 200, url


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("simulations:author_scenario_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def _scenario_post(persona, frameworks, cohorts=(), **changes) -> dict:
    data = {
        "slug": "raise-talk", "title": "Asking for a raise", "persona": persona.slug,
        "frameworks": [f.slug for f in frameworks], "brief": "Ask Priya for a raise.",
        "learning_objectives": "State a figure\nAcknowledge the budget", "difficulty_level": "medium",
        "trust_gain": "", "disclosure_thresholds": "", "hostility": "", "concession_rate": "", "style": "",
        "opening_line": "Come in.", "time_limit_minutes": "15", "mode_text": "on", "mode_live_feedback": "on",
        "cohorts": [c.pk for c in cohorts],
    }
    data.update(changes)
    return data


def test_admin_creates_a_scenario_and_only_the_assigned_cohort_sees_it(client):
    persona, framework = PersonaFactory(), FrameworkFactory()
    inside, outside = UserFactory(role="trainee"), UserFactory(role="trainee")
    cohort = CohortFactory(members=[inside])
    CohortFactory(members=[outside])
    client.force_login(UserFactory(role="admin"))
    response = client.post(reverse("simulations:author_scenario_create"), _scenario_post(persona, [framework], [cohort]))
    assert response.status_code == 302
    scenario = Scenario.objects.get(slug="raise-talk")
    data = scenario.current_version.scenario_data
    assert data["learning_objectives"] == ["State a figure", "Acknowledge the budget"]
    assert data["modes"] == {"text": True, "voice": False, "live_feedback": True, "exam": False}

    client.force_login(inside)
    page = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="scenario-link"' in page and "Asking for a raise" in page
    client.force_login(outside)
    page = client.get(reverse("dashboard")).content.decode()
    assert "Asking for a raise" not in page and 'data-testid="scenario-list-empty"' in page


def test_scenario_form_shows_plain_errors_per_field(client):
    persona, framework = PersonaFactory(), FrameworkFactory()
    client.force_login(UserFactory(role="admin"))
    response = client.post(
        reverse("simulations:author_scenario_create"),
        _scenario_post(persona, [framework], hostility="1.5", disclosure_thresholds="0.9, 0.1, 0.5, 0.6", time_limit_minutes="500"),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["hostility"] == ["1.5 is too large (must be at most 1)"]
    assert form.errors["disclosure_thresholds"] == ["Must not decrease (each level needs at least the trust of the one before)"]
    assert form.errors["time_limit_minutes"] == ["500 is too large (must be at most 120)"]
    assert 'data-testid="error-hostility"' in response.content.decode()
    assert not Scenario.objects.exists()


def test_editing_a_scenario_makes_a_new_version_and_old_sessions_keep_theirs(client):
    from simulations.selectors.authoring import practice_session_snapshot
    from simulations.services.sessions import practice_session_start

    framework = FrameworkFactory()
    scenario = ScenarioFactory(frameworks=[framework.slug])
    trainee = UserFactory(role="trainee")
    session = practice_session_start(user=trainee, scenario=scenario)
    v1_brief = scenario.current_version.scenario_data["brief"]
    client.force_login(UserFactory(role="admin"))
    response = client.post(
        reverse("simulations:author_scenario_edit", args=[scenario.slug]),
        _scenario_post(scenario.persona, [framework], slug=scenario.slug, brief="Version two brief."),
    )
    assert response.status_code == 302
    scenario.refresh_from_db()
    assert scenario.current_version.number == 2
    session.refresh_from_db()
    assert session.scenario_version.number == 1
    assert scenario.current_version.scenario_data["brief"] == "Version two brief."
    assert practice_session_snapshot(session=session)["scenario"]["brief"] == v1_brief
    # Saving again without changes adds no version.
    client.post(reverse("simulations:author_scenario_edit", args=[scenario.slug]),
                _scenario_post(scenario.persona, [framework], slug=scenario.slug, brief="Version two brief."))
    scenario.refresh_from_db()
    assert scenario.current_version.number == 2


def test_persona_form_yaml_errors_are_shown_on_their_field(client):
    client.force_login(UserFactory(role="admin"))
    post = {
        "slug": "new-maya", "kind": "cbt-patient", "name": "Maya", "summary": "A nurse.", "style": "plain",
        "style_instruction": "", "voice_lang": "", "voice_gender": "", "voice_pitch": "3", "voice_rate": "",
        "cognitive_model": "history: h\ncore_beliefs: ['I am a failure']\nintermediate_beliefs: i\ncoping_strategies: c\n"
                           "situations:\n  - {description: d, automatic_thoughts: a, emotions: [sad], behaviour: b}\n",
        "partner": "", "client": "", "facts": "- {level: secret, text: x}", "script": "- [unclosed",
    }
    response = client.post(reverse("simulations:author_persona_create"), post)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["script"][0].startswith("This is not valid YAML")
    post["script"] = ""
    response = client.post(reverse("simulations:author_persona_create"), post)
    errors = response.context["form"].errors
    assert errors["cognitive_model"] == ['core_beliefs[0]: "I am a failure" is not one of the 19 core beliefs']
    assert errors["facts"][0].startswith('[0].level: "secret" is not one of surface')
    assert errors["voice_pitch"] == ["3.0 is too large (must be at most 2)"]
    assert not Persona.objects.filter(slug="new-maya").exists()

    post.update(cognitive_model=post["cognitive_model"].replace("'I am a failure'", "'I am a failure, loser'"),
                facts="- {level: situation, text: x}", voice_pitch="1")
    response = client.post(reverse("simulations:author_persona_create"), post)
    assert response.status_code == 302
    assert Persona.objects.get(slug="new-maya").data["cognitive_model"]["core_beliefs"] == ["I am a failure, loser"]


def test_persona_edit_versions_its_scenarios(client):
    from simulations.forms.authoring import PersonaForm

    scenario = ScenarioFactory()
    persona = scenario.persona
    client.force_login(UserFactory(role="admin"))
    post = {k: ("" if v is None else v) for k, v in PersonaForm.initial_from(persona.data).items()}
    post["summary"] = "Changed summary."
    response = client.post(reverse("simulations:author_persona_edit", args=[persona.slug]), post)
    assert response.status_code == 302, response.context["form"].errors
    scenario.refresh_from_db()
    assert scenario.current_version.number == 2
    assert scenario.current_version.persona_data["summary"] == "Changed summary."


def test_duplicate_and_try_it(client):
    scenario = ScenarioFactory()
    admin = UserFactory(role="admin")
    client.force_login(admin)
    response = client.post(reverse("simulations:author_scenario_duplicate", args=[scenario.slug]))
    copy = Scenario.objects.get(slug=f"{scenario.slug}-copy")
    assert response["Location"] == reverse("simulations:author_scenario_edit", args=[copy.slug])
    assert copy.current_version.number == 1 and copy.title.endswith("(copy)")

    response = client.post(reverse("simulations:author_scenario_try", args=[scenario.slug]))
    session = PracticeSession.objects.get(trainee=admin)
    assert response["Location"] == f"/practice/sessions/{session.pk}/"
    opening = session.turns.get()
    assert (opening.index, opening.speaker, opening.source, opening.text) == (0, "persona", "opening", "Hi. I'm not sure what to say.")


def test_preview_shows_the_brief_but_never_hidden_facts(client):
    scenario = ScenarioFactory()
    client.force_login(UserFactory(role="admin"))
    page = client.get(reverse("simulations:author_scenario_preview", args=[scenario.slug])).content.decode()
    assert f"Brief of {scenario.title}." in page and "34, nurse" in page
    assert "SECRET-FACT" not in page and "Grew up with a critical father" not in page


def test_pack_upload_lists_errors_and_imports_nothing(client):
    client.force_login(UserFactory(role="admin"))
    pack = small_pack()
    pack["personas"][0]["kind"] = "robot"
    upload = SimpleUploadedFile("pack.yaml", as_yaml(pack).encode(), content_type="application/yaml")
    response = client.post(reverse("simulations:author_pack_import"), {"file": upload})
    assert response.status_code == 400
    assert 'personas[0].kind: &quot;robot&quot; is not one of' in response.content.decode()
    assert not Persona.objects.exists()

    upload = SimpleUploadedFile("pack.yaml", as_yaml(small_pack()).encode())
    response = client.post(reverse("simulations:author_pack_import"), {"file": upload})
    assert response.status_code == 302
    assert Scenario.objects.filter(slug="tiny-first-session").exists()


def test_pack_upload_size_limit(client, settings):
    settings.PACK_MAX_BYTES = 100
    client.force_login(UserFactory(role="admin"))
    upload = SimpleUploadedFile("pack.yaml", b"version: 1\n#" + b"x" * 200)
    response = client.post(reverse("simulations:author_pack_import"), {"file": upload})
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["The file is 212 bytes; the limit is 100 bytes."]


def test_pack_download(client):
    scenario = ScenarioFactory()
    client.force_login(UserFactory(role="admin"))
    response = client.get(reverse("simulations:author_pack_export"), {"download": "1", "slugs": [scenario.slug]})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="scenario-pack.yaml"'
    body = response.content.decode()
    assert f"slug: {scenario.slug}" in body and f"slug: {scenario.persona.slug}" in body


@pytest.mark.django_db
def test_saving_an_imported_scenario_unchanged_adds_no_version():
    """A pack may omit optional fields (modes); the editor fills in their defaults,
    which is the same scenario, so no new version is created."""
    from simulations.services.authoring import scenario_save
    from tests.factories import ScenarioFactory

    scenario = ScenarioFactory()
    data = dict(scenario.current_version.scenario_data)
    data.pop("modes", None)
    scenario_save(data=data, scenario=scenario)
    before = scenario.versions.count()
    explicit = {**data, "modes": {"text": True, "voice": True, "live_feedback": True, "exam": False}}
    _, outcome = scenario_save(data=explicit, scenario=scenario)
    assert outcome == "unchanged" and scenario.versions.count() == before
    _, outcome = scenario_save(data={**explicit, "modes": {**explicit["modes"], "voice": False}}, scenario=scenario)
    assert outcome == "updated" and scenario.versions.count() == before + 1
