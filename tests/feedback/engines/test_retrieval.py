"""Exemplar retrieval: ids, same-skill contrastive pairs, rebuild on change."""

from __future__ import annotations

from feedback.engines.retrieval import exemplar_index_for
from tests.feedback.engines.frameworks import dear_man


def test_exemplar_ids_use_the_db_key_when_present_else_the_pack_position():
    framework = dear_man()
    framework["exemplars"][0]["id"] = 4711
    index = exemplar_index_for(framework=framework)
    assert index.ids[0] == "4711"
    assert index.ids[1] == "dear-man:1"


def test_nearest_filters_by_skill_and_ranks_by_similarity():
    index = exemplar_index_for(framework=dear_man())
    found = index.nearest(utterance="What if we split it, and I take Mondays instead?", context=[], skill="negotiate", k=4)
    assert len(found) == 4
    assert {e.skill for e in found} == {"negotiate"}
    sims = [e.similarity for e in found]
    assert sims == sorted(sims, reverse=True)


def test_contrastive_pairs_are_strong_and_weak_of_the_same_skill():
    index = exemplar_index_for(framework=dear_man())
    pairs = index.contrastive_pairs(utterance="Sorry, I guess I kind of need more help?", context=[], skill="appear-confident", k=2)
    assert len(pairs) == 2
    for strong, weak in pairs:
        assert strong.skill == weak.skill == "appear-confident"
        assert strong.label == "strong" and weak.label == "weak"
    assert pairs[0][0].exemplar_id != pairs[1][0].exemplar_id


def test_context_changes_which_exemplars_are_nearest():
    index = exemplar_index_for(framework=dear_man())
    utterance = "I'd like that sorted this week."
    bare = index.nearest(utterance=utterance, context=[], k=5)
    with_context = index.nearest(
        utterance=utterance, context=[{"speaker": "partner", "text": "The rent? I'll get it to you, relax."}], k=5
    )
    assert [e.similarity for e in bare] != [e.similarity for e in with_context]


def test_index_is_rebuilt_when_exemplars_change():
    framework = dear_man()
    before = exemplar_index_for(framework=framework)
    assert exemplar_index_for(framework=framework) is before  # unchanged content: cached
    framework["exemplars"].append(
        {"skill": "describe", "label": "strong", "utterance": "On Monday the delivery arrived two hours late.", "feedback": "Facts."}
    )
    after = exemplar_index_for(framework=framework)
    assert after is not before
    assert len(after) == len(before) + 1
