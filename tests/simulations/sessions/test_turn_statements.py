"""The per-turn reads in plain SQL give what the ORM gave; the scenario version kept per process
follows an edit made in this process."""

from __future__ import annotations

import pytest
from django.db.models import Max

from simulations.models import Turn
from simulations.selectors.scenario_versions import scenario_version_cached
from simulations.selectors.turn_statements import turn_id_for_client_id, turn_index_max, turn_rows_in_order
from tests.simulations.sessions.helpers import session_setup

pytestmark = pytest.mark.django_db


def test_plain_sql_reads_match_the_orm():
    session = session_setup()["session"]
    other = session_setup()["session"]
    assert turn_index_max(session_id=other.pk) == Turn.objects.filter(session=other).aggregate(m=Max("index"))["m"]
    base = (turn_index_max(session_id=session.pk) or 0) + 1
    for i, (speaker, text, client_id) in enumerate(
        [("trainee", "Hi.", "a1"), ("persona", "Hello.", ""), ("trainee", "How's the week been?", "a2")]
    ):
        Turn.objects.create(session=session, index=base + 2 * i, speaker=speaker, text=text, client_id=client_id)
    assert turn_index_max(session_id=session.pk) == base + 4
    orm = list(Turn.objects.filter(session=session).order_by("index").values_list("index", "speaker", "text"))
    assert [tuple(row) for row in turn_rows_in_order(session_id=session.pk)] == orm
    assert turn_id_for_client_id(session_id=session.pk, client_id="a2") == Turn.objects.get(client_id="a2").pk
    assert turn_id_for_client_id(session_id=other.pk, client_id="a2") is None
    assert turn_index_max(session_id=0) is None and turn_rows_in_order(session_id=0) == []


def test_the_kept_version_is_read_once_and_dropped_when_saved_here(django_assert_num_queries):
    version = session_setup()["session"].scenario_version
    kept = scenario_version_cached(version_id=version.pk)
    with django_assert_num_queries(0):
        assert scenario_version_cached(version_id=version.pk) is kept
    version.persona_data = {**version.persona_data, "summary": "Edited in place."}
    version.save(update_fields=["persona_data"])
    assert scenario_version_cached(version_id=version.pk).persona_data["summary"] == "Edited in place."
