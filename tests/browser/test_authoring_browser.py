"""Authoring in real Chromium: an admin writes a scenario, previews and tries it,
and only the assigned cohort sees it; form errors; packs; versions and copies;
personas; labels on every authoring form."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

from simulations.models import Persona, Scenario
from simulations.services.packs import pack_import
from tests.browser.conftest import log_in
from tests.factories import (
    TEST_PASSWORD,
    CohortFactory,
    FrameworkFactory,
    PersonaFactory,
    ScenarioFactory,
    UserFactory,
)
from tests.simulations.pack_samples import as_yaml, small_pack

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _admin_logs_in(page):
    admin = UserFactory(role="admin")
    log_in(page, admin.username, TEST_PASSWORD)
    return admin


def _log_out(page):
    page.get_by_test_id("logout").click()
    page.wait_for_url("**/accounts/login/")


def _upload(page, name: str, content: str | bytes) -> None:
    data = content.encode() if isinstance(content, str) else content
    page.get_by_test_id("pack-file").set_input_files(files=[{"name": name, "mimeType": "application/yaml", "buffer": data}])
    page.get_by_test_id("pack-import-submit").click()


# --- 1. The acceptance path ---------------------------------------------------------


def test_admin_authors_previews_and_tries_a_scenario_and_only_the_cohort_sees_it(page):
    persona = PersonaFactory(name="Priya")
    framework = FrameworkFactory(name="Asking skills")
    FrameworkFactory(name="Unused framework")
    inside, outside = UserFactory(role="trainee"), UserFactory(role="trainee")
    cohort = CohortFactory(name="Evening cohort", members=[inside])
    CohortFactory(name="Other cohort", members=[outside])

    _admin_logs_in(page)
    page.goto("/author/scenarios/")
    page.get_by_test_id("scenario-create").click()
    page.wait_for_url("**/author/scenarios/new/")
    page.get_by_test_id("scenario-title").fill("Asking for a raise")
    page.get_by_test_id("scenario-slug").fill("raise-talk")
    page.get_by_test_id("scenario-persona").select_option(persona.slug)
    page.get_by_test_id("fieldset-frameworks").get_by_label("Asking skills").check()
    page.get_by_test_id("scenario-brief").fill("Ask Priya, your manager, for a raise.")
    page.get_by_test_id("scenario-objectives").fill("State a figure\nAcknowledge the budget")
    page.get_by_test_id("scenario-difficulty").select_option("hard")
    page.get_by_test_id("scenario-opening-line").fill("Come in, you wanted to talk?")
    page.get_by_test_id("scenario-time-limit").fill("15")
    page.get_by_test_id("scenario-mode-text").check()
    page.get_by_test_id("scenario-mode-voice").uncheck()
    page.get_by_test_id("scenario-mode-live-feedback").check()
    page.get_by_test_id("scenario-mode-exam").uncheck()
    page.get_by_test_id("fieldset-cohorts").get_by_label("Evening cohort").check()
    page.get_by_test_id("scenario-save").click()

    page.wait_for_url("**/author/scenarios/raise-talk/edit/")
    expect(page.get_by_role("status")).to_contain_text("Scenario “Asking for a raise” created.")
    scenario = Scenario.objects.get(slug="raise-talk")
    data = scenario.current_version.scenario_data
    assert data["frameworks"] == [framework.slug]
    assert data["difficulty"]["level"] == "hard" and data["time_limit_minutes"] == 15
    assert data["modes"] == {"text": True, "voice": False, "live_feedback": True, "exam": False}
    assert list(scenario.cohorts.all()) == [cohort]

    page.get_by_test_id("scenario-preview-link").click()
    page.wait_for_url("**/author/scenarios/raise-talk/preview/")
    expect(page.get_by_test_id("preview-note")).to_contain_text("version 1")
    expect(page.get_by_test_id("brief-title")).to_have_text("Asking for a raise")
    expect(page.get_by_test_id("brief-persona")).to_contain_text("Priya")
    expect(page.get_by_test_id("brief-objectives").locator("li")).to_have_text(["State a figure", "Acknowledge the budget"])
    expect(page.get_by_test_id("scenario-brief")).to_contain_text("15 minutes")

    page.get_by_test_id("scenario-try").click()
    page.wait_for_url(re.compile(r"/practice/sessions/\d+/$"))
    expect(page.get_by_test_id("session-title")).to_have_text("Asking for a raise")
    expect(page.get_by_test_id("persona-message").first).to_contain_text("Come in, you wanted to talk?")

    _log_out(page)
    log_in(page, inside.username, TEST_PASSWORD)
    link = page.get_by_test_id("scenario-link").filter(has_text="Asking for a raise")
    expect(link).to_have_count(1)
    link.click()
    page.wait_for_url("**/practice/scenarios/raise-talk/")
    expect(page.get_by_test_id("brief-text")).to_have_text("Ask Priya, your manager, for a raise.")
    expect(page.get_by_test_id("session-start")).to_be_visible()
    # The start form's radio buttons are a named group; voice is off for this scenario.
    modes = page.get_by_role("group", name="Practise by")
    expect(modes.get_by_role("radio")).to_have_count(1)
    expect(modes.get_by_label("Text")).to_be_checked()

    _log_out(page)
    log_in(page, outside.username, TEST_PASSWORD)
    expect(page.get_by_test_id("scenario-list-empty")).to_be_visible()
    expect(page.get_by_test_id("scenario-link")).to_have_count(0)
    response = page.goto("/practice/scenarios/raise-talk/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Asking for a raise")


# --- 2. Field-level errors in plain words ----------------------------------------------------


def test_scenario_form_shows_field_errors_in_plain_words(page):
    persona = PersonaFactory()
    FrameworkFactory(name="Only framework")
    _admin_logs_in(page)
    page.goto("/author/scenarios/new/")
    page.get_by_test_id("scenario-slug").fill("bad-one")
    page.get_by_test_id("scenario-persona").select_option(persona.slug)
    page.get_by_label("Only framework").check()
    page.get_by_test_id("scenario-brief").fill("A brief.")
    page.get_by_test_id("scenario-opening-line").fill("Hello.")
    page.get_by_test_id("scenario-time-limit").fill("0")
    page.get_by_test_id("scenario-save").click()

    expect(page.get_by_test_id("error-title")).to_have_text("This field is required.")
    expect(page.get_by_test_id("scenario-title")).to_have_attribute("aria-invalid", "true")
    # What was typed survives the round trip.
    expect(page.get_by_test_id("scenario-brief")).to_have_value("A brief.")

    page.get_by_test_id("scenario-title").fill("Now with a title")
    page.get_by_test_id("scenario-save").click()
    expect(page.get_by_test_id("error-time_limit_minutes")).to_have_text(re.compile(r"^0 is too small \(must be at least 1\)$"))
    expect(page.get_by_test_id("error-title")).to_have_count(0)
    # The error is announced with the field: aria-describedby points at it.
    time_limit = page.get_by_test_id("scenario-time-limit")
    described_by = time_limit.get_attribute("aria-describedby").split()
    assert "id_time_limit_minutes_error" in described_by
    expect(page.locator("#id_time_limit_minutes_error")).to_contain_text("too small")
    assert not Scenario.objects.filter(slug="bad-one").exists()


def test_persona_form_names_a_core_belief_that_is_not_one_of_the_19(page):
    _admin_logs_in(page)
    page.goto("/author/personas/")
    page.get_by_test_id("persona-create").click()
    page.wait_for_url("**/author/personas/new/")
    page.get_by_test_id("persona-slug").fill("teapot-tom")
    page.get_by_test_id("persona-kind").select_option("cbt-patient")
    page.get_by_test_id("persona-name").fill("Tom")
    page.get_by_test_id("persona-summary").fill("41, teacher.")
    page.get_by_test_id("persona-cognitive-model").fill(
        "history: A strict school.\n"
        "core_beliefs:\n  - I am a teapot\n"
        "intermediate_beliefs: If I rest, I fail.\n"
        "coping_strategies: Works late.\n"
        "situations:\n  - description: Marked late.\n    automatic_thoughts: I'm useless.\n"
        "    emotions: [sad]\n    behaviour: Stayed up.\n"
    )
    page.get_by_test_id("persona-save").click()
    error = page.get_by_test_id("error-cognitive_model")
    expect(error).to_contain_text('"I am a teapot" is not one of the 19 core beliefs')
    assert not Persona.objects.filter(slug="teapot-tom").exists()

    # Fixing it saves the persona and shows it in the list.
    page.get_by_test_id("persona-cognitive-model").fill(
        page.get_by_test_id("persona-cognitive-model").input_value().replace("I am a teapot", "I am incompetent")
    )
    page.get_by_test_id("persona-save").click()
    page.wait_for_url("**/author/personas/teapot-tom/edit/")
    page.get_by_test_id("author-nav-personas").click()
    expect(page.get_by_test_id("persona-row").filter(has_text="teapot-tom")).to_have_count(1)


# --- 3. Packs from the UI --------------------------------------------------------------------


def test_broken_pack_lists_every_error_with_its_path_and_creates_nothing(page):
    pack = small_pack()
    pack["personas"][0]["cognitive_model"]["core_beliefs"] = ["I am a teapot"]
    pack["scenarios"][0]["time_limit_minutes"] = 0
    pack["scenarios"][0]["frameworks"] = ["no-such-framework"]
    _admin_logs_in(page)
    page.goto("/author/packs/import/")
    _upload(page, "broken.yaml", as_yaml(pack))

    errors = page.get_by_test_id("pack-error")
    expect(page.get_by_test_id("pack-errors")).to_be_visible()
    texts = errors.all_text_contents()
    assert len(texts) >= 3, texts
    expect(page.get_by_test_id("pack-errors").locator("h2")).to_have_text(f"Nothing was imported: {len(texts)} problems")
    expected = {
        "personas[0].cognitive_model.core_beliefs[0]": "I am a teapot",
        "scenarios[0].time_limit_minutes": "0 is too small",
        "scenarios[0].frameworks": "no-such-framework",
    }
    for path, words in expected.items():
        assert any(t.startswith(path) and words in t for t in texts), (path, texts)
    assert not Scenario.objects.exists() and not Persona.objects.exists()

    # Not YAML at all: a plain error, still nothing created.
    _upload(page, "junk.yaml", "scenarios: [unclosed\n")
    expect(page.get_by_test_id("pack-error")).not_to_have_count(0)
    assert not Scenario.objects.exists()


def test_good_pack_imports_shows_a_summary_and_exports_as_a_download(page):
    _admin_logs_in(page)
    page.goto("/author/packs/import/")
    _upload(page, "small.yaml", as_yaml(small_pack()))
    page.wait_for_url("**/author/packs/import/")
    expect(page.get_by_role("status")).to_contain_text("Pack imported: 3 created, 0 updated, 0 unchanged.")
    expect(page.get_by_test_id("pack-errors")).to_have_count(0)

    page.get_by_test_id("author-nav-scenarios").click()
    row = page.get_by_test_id("scenario-row").filter(has_text="tiny-first-session")
    expect(row).to_contain_text("Maya: first session")
    expect(row).to_contain_text("v1")

    # Importing the same pack again without "update" is refused, item by item.
    page.goto("/author/packs/import/")
    _upload(page, "small.yaml", as_yaml(small_pack()))
    expect(page.get_by_test_id("pack-error").first).to_be_visible()

    page.get_by_test_id("author-nav-export").click()
    page.get_by_test_id("pack-export-form").get_by_label(re.compile(r"\(tiny-first-session\)")).check()
    with page.expect_download() as info:
        page.get_by_test_id("pack-export-submit").click()
    download = info.value
    assert download.suggested_filename == "scenario-pack.yaml"
    exported = yaml.safe_load(Path(download.path()).read_text(encoding="utf-8"))
    assert [s["slug"] for s in exported["scenarios"]] == ["tiny-first-session"]
    # What the scenario depends on comes with it.
    assert [p["slug"] for p in exported["personas"]] == ["tiny-maya"]
    assert [f["slug"] for f in exported["frameworks"]] == ["tiny-dear-man"]


# --- 4. Versions and copies ------------------------------------------------------------------


def test_editing_a_scenario_bumps_its_version_and_duplicate_makes_a_copy(page):
    assert pack_import(content=as_yaml(small_pack())).ok
    scenario = Scenario.objects.get()
    _admin_logs_in(page)
    page.goto("/author/scenarios/")
    row = page.get_by_test_id("scenario-row").filter(has_text=scenario.slug)
    expect(row).to_contain_text("v1")
    row.get_by_test_id("scenario-edit-link").click()
    page.wait_for_url(f"**/author/scenarios/{scenario.slug}/edit/")
    expect(page.get_by_test_id("scenario-slug")).to_be_disabled()

    # Saving with nothing changed keeps the version.
    page.get_by_test_id("scenario-save").click()
    expect(page.get_by_role("status")).to_contain_text("saved (content unchanged)")

    page.get_by_test_id("scenario-brief").fill("A new brief for version two.")
    page.get_by_test_id("scenario-save").click()
    expect(page.get_by_role("status")).to_contain_text("saved as version 2")
    expect(page.get_by_role("heading", level=1)).to_contain_text("(version 2)")
    page.get_by_test_id("author-nav-scenarios").click()
    expect(page.get_by_test_id("scenario-row").filter(has_text=scenario.slug).first).to_contain_text("v2")

    page.get_by_test_id("scenario-row").filter(has_text=scenario.slug).get_by_test_id("scenario-duplicate").click()
    expect(page.get_by_role("status")).to_contain_text("It is not assigned to any cohort yet.")
    copy = Scenario.objects.exclude(pk=scenario.pk).get()
    assert copy.current_version.scenario_data["brief"] == "A new brief for version two."
    page.wait_for_url(f"**/author/scenarios/{copy.slug}/edit/")
    expect(page.get_by_test_id("scenario-brief")).to_have_value("A new brief for version two.")
    page.get_by_test_id("author-nav-scenarios").click()
    expect(page.get_by_test_id("scenario-row")).to_have_count(2)
    expect(page.get_by_test_id("scenario-row").filter(has_text=copy.slug)).to_contain_text("v1")


def test_duplicating_a_persona_makes_a_copy(page):
    persona = PersonaFactory(name="Maya")
    _admin_logs_in(page)
    page.goto("/author/personas/")
    page.get_by_test_id("persona-row").filter(has_text=persona.slug).get_by_test_id("persona-duplicate").click()
    expect(page.get_by_role("status")).to_contain_text("Copied as")
    copy = Persona.objects.exclude(pk=persona.pk).get()
    page.wait_for_url(f"**/author/personas/{copy.slug}/edit/")
    page.get_by_test_id("author-nav-personas").click()
    expect(page.get_by_test_id("persona-row")).to_have_count(2)


# --- 8. Labels on every authoring form -------------------------------------------------------


def _label(text: str) -> re.Pattern:
    """The label's whole text; required fields add an aria-hidden " *"."""
    return re.compile(rf"^{re.escape(text)}( \*)?$")


def test_authoring_form_fields_have_labels(page):
    scenario = ScenarioFactory()
    _admin_logs_in(page)

    page.goto("/author/scenarios/new/")
    for label, testid in [
        ("Slug", "scenario-slug"), ("Title", "scenario-title"), ("Persona", "scenario-persona"), ("Brief", "scenario-brief"),
        ("Learning objectives", "scenario-objectives"), ("Difficulty", "scenario-difficulty"),
        ("Opening line", "scenario-opening-line"), ("Time limit (minutes)", "scenario-time-limit"),
        ("Text", "scenario-mode-text"), ("Voice", "scenario-mode-voice"), ("Live feedback", "scenario-mode-live-feedback"),
    ]:
        expect(page.get_by_label(_label(label))).to_have_attribute("data-testid", testid)
    # Checkbox groups are named by a legend, and each box by its own label.
    expect(page.get_by_role("group", name="Frameworks")).to_be_visible()
    expect(page.get_by_role("group", name="Assigned cohorts")).to_be_visible()
    # Help text is tied to its input.
    expect(page.get_by_label(_label("Slug"))).to_have_accessible_description(re.compile("cannot be changed later"))

    page.goto(f"/author/scenarios/{scenario.slug}/edit/")
    expect(page.get_by_label("Archived (hidden from trainees)")).to_have_attribute("data-testid", "scenario-archived")

    page.goto("/author/personas/new/")
    for label, testid in [
        ("Slug", "persona-slug"), ("Kind", "persona-kind"), ("Name", "persona-name"), ("Summary", "persona-summary"),
        ("Voice language", "persona-voice-lang"), ("Cognitive model (CBT patients, YAML)", "persona-cognitive-model"),
        ("Facts (YAML list)", "persona-facts"),
    ]:
        expect(page.get_by_label(_label(label))).to_have_attribute("data-testid", testid)

    page.goto("/author/packs/import/")
    expect(page.get_by_label("Pack file (YAML)")).to_have_attribute("data-testid", "pack-file")
    page.goto("/author/packs/export/")
    expect(page.get_by_role("group", name="What to export")).to_be_visible()
    expect(page.get_by_label(re.compile(rf"\({scenario.slug}\)"))).to_be_checked(checked=False)
