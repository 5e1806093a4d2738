"""The worker's copy of a framework is re-read exactly when the framework or an exemplar changed."""

from __future__ import annotations

import pytest

from feedback.models import Exemplar
from feedback.selectors import frameworks as framework_selectors
from feedback.services import assessors
from feedback.services.frameworks import exemplar_create, exemplar_update
from tests.feedback.live_support import starter_framework_install

pytestmark = pytest.mark.django_db


@pytest.fixture
def reads(monkeypatch):
    assessors._current.clear()
    calls = []
    real = framework_selectors.framework_pack_dict

    def counted(**kwargs):
        calls.append(kwargs["slug"])
        return real(**kwargs)

    monkeypatch.setattr(framework_selectors, "framework_pack_dict", counted)
    yield calls
    assessors._current.clear()


def _utterances(framework: dict) -> list[str]:
    return [e["utterance"] for e in framework.get("exemplars") or []]


def test_the_copy_is_kept_until_an_exemplar_or_the_framework_changes(reads):
    framework = starter_framework_install("dear-man")
    first = assessors.framework_current(slug="dear-man")
    assert assessors.framework_current(slug="dear-man") is first and reads == ["dear-man"]  # one read, then the copy

    added = exemplar_create(framework=framework, skill="assert", label="strong", utterance="I need you to decide by Friday.")
    after_add = assessors.framework_current(slug="dear-man")
    assert len(reads) == 2 and "I need you to decide by Friday." in _utterances(after_add)

    exemplar_update(exemplar=added, skill="assert", label="weak", utterance="Could you maybe decide by Friday?")
    after_edit = assessors.framework_current(slug="dear-man")
    assert len(reads) == 3 and "Could you maybe decide by Friday?" in _utterances(after_edit)
    assert "I need you to decide by Friday." not in _utterances(after_edit)

    Exemplar.objects.filter(pk=added.pk).delete()  # a queryset delete (a correction withdrawn) counts too
    assert "Could you maybe decide by Friday?" not in _utterances(assessors.framework_current(slug="dear-man"))
    assert len(reads) == 4

    framework.refresh_from_db()
    framework.data = {**framework.data, "labels": list(framework.data.get("labels") or [])}
    framework.name = "DEAR MAN (edited)"
    framework.save()
    assert assessors.framework_current(slug="dear-man")["name"] == "DEAR MAN (edited)" and len(reads) == 5
    assessors.framework_current(slug="dear-man")
    assert len(reads) == 5


def test_a_deleted_framework_is_gone_from_the_copy(reads):
    framework = starter_framework_install("mi")
    assert assessors.framework_current(slug="mi") is not None
    framework.delete()
    assert assessors.framework_current(slug="mi") is None
    assert assessors.framework_current(slug="no-such-framework") is None
