"""The load benches' audit of sent turns (bench/verify.py): what it counts as lost, refused or
missing its feedback. Pure: rows and pushes are given as the bench reads them."""

from bench.verify import turns_audit

S1, S2 = 11, 12


def _clean():
    """Two pages, two turns each: every turn stored once, answered once, every push seen."""
    sent = [(S1, "a-0"), (S1, "a-1"), (S2, "b-0"), (S2, "b-1")]
    stored = [(S1, "a-0", 100), (S1, "a-1", 102), (S2, "b-0", 200), (S2, "b-1", 202)]
    return {
        "sent": sent,
        "refused": set(),
        "stored": stored,
        "reply_to": [100, 102, 200, 202],
        "echoed": {(sid, cid): tid for sid, cid, tid in stored},
        "reply_done": {100, 102, 200, 202},
        "feedback_shown": {100, 102, 200, 202},
    }


def test_every_turn_accounted_for_counts_nothing_lost():
    audit = turns_audit(**_clean())
    assert (audit.sent, audit.refused, audit.lost_n, audit.feedback_missing) == (4, 0, 0, [])


def test_a_turn_never_stored_is_lost():
    data = _clean()
    data["stored"] = [row for row in data["stored"] if row[1] != "b-1"]
    data["reply_to"].remove(202)
    del data["echoed"][(S2, "b-1")]
    audit = turns_audit(**data)
    assert audit.lost_n == 1
    assert audit.lost[0]["client_id"] == "b-1"
    assert audit.lost[0]["why"] == ["not stored", "no echo push"]
    assert audit.feedback_missing == [(S2, "b-1")]


def test_a_turn_stored_twice_counts_once_as_lost():
    data = _clean()
    data["stored"].append((S1, "a-1", 103))  # a second row for the same message
    audit = turns_audit(**data)
    assert audit.lost_n == 1
    assert audit.lost[0]["why"] == ["stored more than once"]
    assert audit.lost[0]["rows"] == 2
    assert audit.reasons["stored more than once"] == 1


def test_a_turn_answered_twice_or_never_is_lost():
    data = _clean()
    data["reply_to"] = [100, 100, 200, 202]  # a-0 answered twice, a-1 never
    audit = turns_audit(**data)
    assert {entry["client_id"]: entry["why"] for entry in audit.lost} == {
        "a-0": ["answered more than once"],
        "a-1": ["no stored reply"],
    }


def test_a_stored_reply_the_page_never_saw_is_lost():
    data = _clean()
    data["reply_done"].discard(200)
    audit = turns_audit(**data)
    assert [(entry["client_id"], entry["why"]) for entry in audit.lost] == [("b-0", ["no reply-done push"])]
    assert audit.feedback_missing == []  # its feedback did arrive


def test_refused_turns_are_not_lost_and_feedback_is_counted_apart():
    data = _clean()
    data["sent"].append((S2, "b-2"))
    data["refused"] = {(S2, "b-2")}  # "your partner needs a moment": never stored, shown to the trainee
    data["feedback_shown"].discard(102)
    audit = turns_audit(**data)
    assert (audit.sent, audit.refused, audit.lost_n) == (5, 1, 0)
    assert audit.feedback_missing == [(S1, "a-1")]


def test_same_client_id_in_two_sessions_is_two_turns():
    data = _clean()
    data["sent"].append((S2, "a-0"))  # client ids are unique per session only
    audit = turns_audit(**data)
    assert audit.lost_n == 1
    assert audit.lost[0]["session"] == S2
