"""Frameworks: the pack-format selector the engines use, and exemplar editing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from feedback.models import Exemplar
from feedback.selectors.frameworks import framework_pack_dict
from tests.factories import ExemplarFactory, FrameworkFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_framework_pack_dict_carries_exemplar_ids_in_order():
    framework = FrameworkFactory(slug="dm")
    second = ExemplarFactory(framework=framework, position=2, label="weak", rewrite="Say it plainly.")
    first = ExemplarFactory(framework=framework, position=1)
    data = framework_pack_dict(slug="dm")
    assert list(data)[:3] == ["slug", "name", "kind"]
    assert [e["id"] for e in data["exemplars"]] == [str(first.pk), str(second.pk)]
    assert data["exemplars"][1]["rewrite"] == "Say it plainly."
    assert "rewrite" not in data["exemplars"][0]  # unset optional fields are omitted
    assert "id" not in framework_pack_dict(slug="dm", with_ids=False)["exemplars"][0]
    assert framework_pack_dict(slug="missing") is None


def test_admin_adds_edits_and_deletes_an_exemplar(client):
    framework = FrameworkFactory()
    client.force_login(UserFactory(role="admin"))
    url = reverse("feedback:author_exemplar_create", args=[framework.slug])
    post = {"skill": "assert", "label": "weak", "context": "- {speaker: partner, text: Hello}", "utterance": "Maybe more?",
            "feedback": "Vague.", "rewrite": "I'm asking for 42,000.", "source": "authored"}
    assert client.post(url, post).status_code == 302
    exemplar = Exemplar.objects.get(framework=framework)
    assert exemplar.context == [{"speaker": "partner", "text": "Hello"}]

    edit = reverse("feedback:author_exemplar_edit", args=[framework.slug, exemplar.pk])
    assert client.post(edit, {**post, "label": "strong", "context": ""}).status_code == 302
    exemplar.refresh_from_db()
    assert exemplar.label == "strong" and exemplar.context == []

    page = client.get(reverse("feedback:author_framework_detail", args=[framework.slug])).content.decode()
    assert "Maybe more?" in page and 'data-testid="exemplar-delete"' in page
    assert client.post(reverse("feedback:author_exemplar_delete", args=[framework.slug, exemplar.pk])).status_code == 302
    assert not Exemplar.objects.exists()


def test_exemplar_form_refuses_label_not_of_the_skill_and_bad_context(client):
    framework = FrameworkFactory()
    framework.data["skills"][1]["labels"] = ["yes", "no"]
    framework.save()
    client.force_login(UserFactory(role="admin"))
    url = reverse("feedback:author_exemplar_create", args=[framework.slug])
    response = client.post(url, {"skill": "assert", "label": "strong", "utterance": "x", "source": "authored",
                                 "context": "- {speaker: narrator, text: hi}"})
    errors = response.context["form"].errors
    assert errors["label"] == ['"strong" is not a label of assert (yes, no)'.capitalize()]
    assert errors["context"] == ['[0].speaker: "narrator" is not one of trainee, partner']
    assert not Exemplar.objects.exists()
