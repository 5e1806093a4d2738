"""Live feedback behind a backlog: a task claims the waiting turns too and assesses them together.

Each turn is still claimed by its own conditional UPDATE, assessed once, pushed as its own feedback;
a batch's results are those of one turn at a time; a batch whose worker died is recovered by the
sweep like a single claim; nothing is batched at low load (a turn not yet due is left to its message)."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback.models import Assessment, AssessmentRequest
from feedback.services import live
from feedback.services.assessments import turn_assess, turns_assess
from tests.feedback.live_support import people, session_make, starter_framework_install, turn_add

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

CASES = {
    "dear-man": ("interpersonal-partner", ["Hi, have you got a minute?", "I'd like you to turn it down after eleven.",
                                           "You never listen to anything I say, honestly."]),
    "mi": ("mi-client", ["What brings you in today?", "It sounds like you're worried about your health.",
                         "On a scale from one to ten, how important is it for you to make a change?"]),
    "cbt-formulation": ("cbt-patient", ["What was going through your mind?", "What did you do next?",
                                        "How strongly did you believe that thought, from zero to a hundred?"]),
}


@pytest.fixture(autouse=True)
def _fresh_worker_copies(fresh_worker_copies):
    return fresh_worker_copies


@pytest.fixture
def pushes(monkeypatch):
    seen: list[dict] = []
    monkeypatch.setattr(live, "session_push", lambda **kwargs: seen.append(kwargs))
    return seen


def _waiting(session, lines: list[str], *, age_s: float = 5.0) -> list[int]:
    """Trainee turns (each after a persona line) with their outbox rows pending for ``age_s``."""
    ids = []
    for line in lines:
        turn = turn_add(session=session, text=line)
        turn_add(session=session, text="I don't know, it's been a hard week.", speaker="persona")
        ids.append(turn.pk)
        AssessmentRequest.objects.create(turn=turn, hints=True)
    AssessmentRequest.objects.filter(turn_id__in=ids).update(created_at=timezone.now() - timedelta(seconds=age_s))
    return ids


def _item_rows(assessment: Assessment) -> list[tuple]:
    return list(
        assessment.items.order_by("position").values_list(
            "skill", "label", "confidence", "evidence", "suggestion", "rewrite", "exemplars"
        )
    )


def test_batched_results_are_those_of_one_turn_at_a_time():
    """The same turns in two sessions: one assessed turn by turn, the other in one batch (the MI coder
    codes all its utterances in one model pass)."""
    p = people()
    one, many = [], []
    for slug, (persona_kind, lines) in CASES.items():
        starter_framework_install(slug)
        for out in (one, many):
            session = session_make(trainee=p["trainee"], framework_slugs=[slug], persona_kind=persona_kind)
            out.extend(_waiting(session, lines))
    single = {pk: turn_assess(turn_id=pk) for pk in one}
    batched = turns_assess(turn_ids=many)
    assert list(batched) == many
    for a, b in zip(one, many, strict=True):
        (left, created_left), = single[a]
        (right, created_right), = batched[b]
        assert created_left and created_right
        assert (left.framework_slug, left.kind, left.backend, left.labels, left.feedback) == (
            right.framework_slug, right.kind, right.backend, right.labels, right.feedback
        )
        assert _item_rows(left) == _item_rows(right) and _item_rows(right)


def test_a_backlog_is_claimed_with_the_turn_and_each_turn_pushed_as_its_own(pushes, monkeypatch):
    starter_framework_install("dear-man")
    starter_framework_install("mi")
    p = people()
    dear_man = session_make(trainee=p["trainee"], framework_slugs=["dear-man"], persona_kind="interpersonal-partner")
    mi = session_make(trainee=p["trainee"], framework_slugs=["mi"], persona_kind="mi-client")
    ids = _waiting(dear_man, CASES["dear-man"][1][:2]) + _waiting(mi, CASES["mi"][1])
    calls: list[list[int]] = []
    real = turns_assess
    monkeypatch.setattr(
        "feedback.services.assessments.turns_assess", lambda *, turn_ids, each=None: calls.append(list(turn_ids)) or real(turn_ids=turn_ids, each=each)
    )

    events: list[tuple[str, int]] = []
    from feedback.services import assessments

    store = assessments.assessment_store
    monkeypatch.setattr(assessments, "assessment_store", lambda **kw: events.append(("store", kw["turn"].pk)) or store(**kw))
    monkeypatch.setattr(live, "session_push", lambda **kw: events.append(("push", kw["data"]["turn_id"])) or pushes.append(kw))

    pushed = live.live_assessment_run(turn_id=ids[-1], batch=8)

    assert calls == [[ids[-1], *ids[:-1]]]  # its own turn, then the waiting ones oldest first
    # Each turn stored and pushed before the next one's: the batch's writes are not back to back.
    assert events == [(kind, pk) for pk in calls[0] for kind in ("store", "push")]
    assert set(AssessmentRequest.objects.filter(turn_id__in=ids).values_list("status", flat=True)) == {"done"}
    assert sorted(push["data"]["turn_id"] for push in pushes) == sorted(ids)  # one push per turn
    assert sorted(pushed) == sorted(Assessment.objects.filter(turn_id__in=ids).values_list("pk", flat=True))
    for turn_id in ids:  # their own messages arrive later: nothing left to claim
        with CaptureQueriesContext(connection) as queries:
            assert live.live_assessment_run(turn_id=turn_id, batch=8) == []
        # Finished here as part of the batch: answered without the claim's UPDATE.
        assert len(queries.captured_queries) == (1 if turn_id == ids[-1] else 0)
    assert len(calls) == 1 and len(pushes) == len(ids)


def test_nothing_is_batched_at_low_load_nor_for_the_debrief_pass(monkeypatch):
    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"])
    due = _waiting(session, ["First.", "Second."])
    fresh = _waiting(session, ["Third."], age_s=0)  # its message's delay has not passed: left to it
    calls: list[list[int]] = []
    monkeypatch.setattr("feedback.services.assessments.turns_assess", lambda *, turn_ids, each=None: calls.append(turn_ids) or {})
    live.live_assessment_run(turn_id=due[0], hints=False, batch=8)  # live_assess_session_rest's call
    live.live_assessment_run(turn_id=due[1], batch=8)
    assert calls == [[due[0]], [due[1]]]
    assert AssessmentRequest.objects.get(turn_id=fresh[0]).status == "pending"


def test_workers_claiming_concurrently_never_assess_a_turn_twice(monkeypatch):
    """Three worker threads, each delivered every turn's message (in its own order), batches of 4."""
    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"])
    ids = _waiting(session, [f"Line {n}." for n in range(15)])
    assessed: list[int] = []
    lock = threading.Lock()

    def record(*, turn_ids, each=None):
        time.sleep(0.02)  # long enough for the others to try the same rows
        with lock:
            assessed.extend(turn_ids)
        return {}

    monkeypatch.setattr("feedback.services.assessments.turns_assess", record)
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        order = list(ids)
        random.Random(seed).shuffle(order)
        try:
            for turn_id in order:
                for _ in range(50):  # SQLite: a writer may find the file locked for a moment
                    try:
                        live.live_assessment_run(turn_id=turn_id, batch=4)
                        break
                    except Exception as exc:  # noqa: BLE001 - only "locked" is retried
                        if "locked" not in str(exc):
                            raise
                        time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(assessed) == sorted(ids)  # every turn once, none twice
    assert set(AssessmentRequest.objects.filter(turn_id__in=ids).values_list("status", flat=True)) == {"done"}
    assert set(AssessmentRequest.objects.filter(turn_id__in=ids).values_list("attempts", flat=True)) == {1}


def test_a_batch_whose_worker_died_is_taken_over_when_its_lease_lapses(settings, monkeypatch):
    settings.LIVE_ASSESS_LEASE_S = 60
    settings.LIVE_FEEDBACK_STALE_S = 30
    enqueued: list[int] = []
    monkeypatch.setattr(live, "live_assessment_enqueue", lambda *, turn_id: enqueued.append(turn_id))
    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"])
    ids = _waiting(session, ["First.", "Second.", "Third."])
    # A worker claims a batch and is SIGKILLed: its rows stay running, nobody renews their lease.
    assert live._claim(turn_id=ids[0]) and live._claim_backlog(limit=7, besides=ids[0]) == ids[1:]
    assert live.live_assessments_sweep() == []  # while its lease runs, nobody takes it over
    for turn_id in ids:
        assert live.live_assessment_run(turn_id=turn_id, batch=8) == []
    AssessmentRequest.objects.filter(turn_id__in=ids).update(claimed_at=timezone.now() - timedelta(seconds=61))
    assert sorted(live.live_assessments_sweep()) == sorted(ids) and sorted(enqueued) == sorted(ids)
    assessed: list[int] = []
    monkeypatch.setattr("feedback.services.assessments.turns_assess", lambda *, turn_ids, each=None: assessed.extend(turn_ids) or {})
    for turn_id in ids:
        live.live_assessment_run(turn_id=turn_id, batch=8)
    assert sorted(assessed) == sorted(ids)
    assert set(AssessmentRequest.objects.filter(turn_id__in=ids).values_list("status", flat=True)) == {"done"}


@pytest.mark.parametrize("poisoned_is_own", [False, True])
def test_a_turn_that_fails_its_batch_fails_only_itself(pushes, monkeypatch, poisoned_is_own):
    """An engine error on one turn's text: the others are assessed alone and pushed; the failing turn goes
    back to pending (its task's retry or the sweep); the task raises only when the failing turn is its own."""
    session = session_make(trainee=people()["trainee"], framework_slugs=["dear-man"])
    ids = _waiting(session, ["First.", "Poison.", "Third."])

    def engine(*, turn_ids, each=None):
        texts = dict(AssessmentRequest.objects.filter(turn_id__in=turn_ids).values_list("turn_id", "turn__text"))
        if "Poison." in texts.values():
            raise RuntimeError("engine failed on one text")
        return {}

    monkeypatch.setattr("feedback.services.assessments.turns_assess", engine)
    own = ids[1] if poisoned_is_own else ids[0]
    if poisoned_is_own:
        with pytest.raises(RuntimeError):
            live.live_assessment_run(turn_id=own, batch=8)
    else:
        live.live_assessment_run(turn_id=own, batch=8)
    status = dict(AssessmentRequest.objects.filter(turn_id__in=ids).values_list("turn_id", "status"))
    assert status == {ids[0]: "done", ids[1]: "pending", ids[2]: "done"}
