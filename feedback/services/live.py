"""Live feedback on trainee turns, durable from the turn's commit to the page.

1. ``live_assessment_record`` runs inside the transaction that stores a trainee
   turn (simulations' ``turn_recorded`` event): it writes the turn's outbox row
   (``AssessmentRequest``, pending) and asks for the task to be enqueued once that
   transaction commits (``on_commit``). The publish itself is handed to one
   enqueue thread (created on first use): the embedded SQLite broker can be locked
   for seconds by a worker running at lower CPU priority, and the trainee's turn
   must not wait for that. Nothing rests on that thread: the row is committed.
2. The task (``feedback.tasks.live_assess_turn``) calls ``live_assessment_run``,
   which claims the row with a conditional UPDATE (pending → running), assesses
   the turn, pushes hints to the page when the session wants them, marks it done.
   A duplicate delivery finds nothing to claim: a turn is never assessed twice.
3. ``live_assessments_sweep`` (Celery beat, ``LIVE_FEEDBACK_SWEEP_S``) re-enqueues
   rows still pending ``LIVE_FEEDBACK_STALE_S`` after they were stored or last
   enqueued (the web process died between commit and enqueue, the broker was down)
   and rows whose claim's lease lapsed (its worker died: see trainer_app.leases).

Whether a turn's assessments are shown while practising is decided once, here
(``live_feedback_hints_wanted``), not by the task.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from feedback.models import Assessment, AssessmentRequest
from feedback.selectors.assessments import (
    assessment_view,
    assessment_view_stored,
    assessments_with_items,
    framework_infos,
    session_miti_so_far,
)
from simulations.events import session_push
from simulations.models import PracticeSession, Turn
from trainer_app.kept_results import KeptResults
from trainer_app.leases import lease_renewed
from trainer_app.outages import OUTAGE_ERRORS, outage_warn

logger = logging.getLogger(__name__)

LIVE_ASSESS_TIME_LIMIT_S = 60  # the task's hard time limit (feedback.tasks.live_assess_turn)


def _lease_s() -> float:
    """A running claim renews ``claimed_at`` every third of this; one not renewed for this long
    belongs to a task that was killed (its worker died): only then may another delivery take it
    over. (Found by the fault suite: the claim used to block for 90 s, the task's whole time
    limit, after a worker was SIGKILLed mid-assessment.)"""
    return float(settings.LIVE_ASSESS_LEASE_S)


def live_feedback_hints_wanted(*, session: PracticeSession) -> bool:
    """Every trainee turn is assessed (the debrief needs it); hints are pushed while
    practising only in sessions with live feedback on, never in an exam."""
    return bool(session.live_feedback and not session.exam)


def live_assessment_record(
    *, turn_id: int, session_id: int, speaker: str | None = None, session: PracticeSession | None = None
) -> None:
    """In the turn's own transaction: the outbox row, and the enqueue after commit.

    ``speaker`` and ``session`` (the session's row as the storing transaction read it): given both,
    the turn and its session are not read again (perf: one statement less inside the turn's
    transaction); otherwise they are."""
    if speaker is not None and session is not None and session.pk == session_id:
        if speaker != Turn.Speaker.TRAINEE:
            return
    else:
        session = (
            PracticeSession.objects.filter(pk=session_id, turns__pk=turn_id, turns__speaker=Turn.Speaker.TRAINEE)
            .only("live_feedback", "exam")
            .first()
        )
    if session is None:  # not a trainee turn: nothing to assess
        return
    # perf: one INSERT ... ON CONFLICT DO NOTHING (a turn recorded twice keeps its first row). This runs
    # inside the turn's transaction, before its reply starts: get_or_create took four round trips
    # (SELECT, SAVEPOINT, INSERT, RELEASE), each a wait on PostgreSQL.
    AssessmentRequest.objects.bulk_create(
        [AssessmentRequest(turn_id=turn_id, hints=live_feedback_hints_wanted(session=session))], ignore_conflicts=True
    )
    transaction.on_commit(lambda: _enqueue_soon(turn_id=turn_id))


_enqueue_lock = threading.Lock()
_enqueuer: ThreadPoolExecutor | None = None  # created on first use (per process, after any fork)


def _enqueue_soon(*, turn_id: int) -> None:
    global _enqueuer
    with _enqueue_lock:
        if _enqueuer is None:
            _enqueuer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedback-enqueue")
        enqueuer = _enqueuer
    try:
        enqueuer.submit(lambda: live_assessment_enqueue(turn_id=turn_id))
    except RuntimeError:  # interpreter shutting down: the sweep enqueues it
        logger.warning("feedback: turn %s not enqueued at shutdown (the sweep will)", turn_id)


def live_assessment_enqueue(*, turn_id: int) -> None:
    """Queue the turn's assessment; never raises (the sweep enqueues what this could not)."""
    from feedback.tasks import live_assess_turn

    # The reply's compute-heavy start comes first (LIVE_FEEDBACK_DELAY_S): on a small machine
    # the two do not run at once, and feedback's budget is a second.
    countdown = settings.LIVE_FEEDBACK_DELAY_S
    try:
        # No publish retries: a broker that is down or locked fails fast; the sweep enqueues it later.
        live_assess_turn.apply_async(args=[turn_id], countdown=countdown if countdown > 0 else None, retry=False)
    except OUTAGE_ERRORS as exc:  # the broker is down: one line a minute, not a traceback per turn
        outage_warn(what="feedback: could not enqueue an assessment (the sweep will)", exc=exc, log=logger)
    except Exception:
        logger.exception("feedback: could not enqueue the assessment of turn %s (the sweep will)", turn_id)


def _claim(*, turn_id: int) -> bool:
    now = timezone.now()
    stale = now - timedelta(seconds=_lease_s())
    return bool(
        AssessmentRequest.objects.filter(
            Q(status=AssessmentRequest.Status.PENDING)
            | Q(status=AssessmentRequest.Status.RUNNING, claimed_at__lt=stale),
            turn_id=turn_id,
        ).update(status=AssessmentRequest.Status.RUNNING, claimed_at=now, attempts=F("attempts") + 1)
    )


def _claim_backlog(*, limit: int, besides: int) -> list[int]:
    """Up to ``limit`` more pending turns whose start is due (LIVE_FEEDBACK_DELAY_S after they were
    stored), oldest first, each claimed as its own delivery would claim it (``_claim``): one that
    another worker claims meanwhile is left to it. Their own messages, delivered later, find nothing
    to claim. None pending (no backlog): one indexed read, and nothing waits for a batch to fill."""
    if limit <= 0:
        return []
    due = timezone.now() - timedelta(seconds=max(0.0, float(settings.LIVE_FEEDBACK_DELAY_S)))
    candidates = list(
        AssessmentRequest.objects.filter(status=AssessmentRequest.Status.PENDING, created_at__lte=due)
        .exclude(turn_id=besides)
        .order_by("created_at", "pk")
        .values_list("turn_id", flat=True)[:limit]
    )
    return [turn_id for turn_id in candidates if _claim(turn_id=turn_id)]


# Turns this process finished as part of another turn's batch (DONE committed: a done row never goes back),
# so their own messages, which come next, are answered without the claim's UPDATE, a write for nothing.
_finished_here: KeptResults[int, bool] = KeptResults(size=4096)


def live_assessment_run(*, turn_id: int, hints: bool = True, batch: int = 1) -> list[int]:
    """Claim, assess and (when the session wants hints and ``hints``) push one turn's
    assessments; the ids pushed. Nothing to claim (done, or running elsewhere): [].

    ``batch`` > 1 (the live task, LIVE_ASSESS_BATCH): when other turns are waiting (a backlog: the
    worker is behind), up to ``batch - 1`` of them are claimed too and assessed with this one
    (feedback.services.assessments.turns_assess: one model pass for several utterances); each turn's
    feedback is pushed as its own, as it would have been."""
    from feedback.services.assessments import turns_assess

    if _finished_here.get(turn_id) or not _claim(turn_id=turn_id):
        return []
    held = [turn_id, *_claim_backlog(limit=batch - 1, besides=turn_id)] if hints else [turn_id]
    pushed: list[int] = []

    def push(pk: int, results: list) -> None:  # each turn's feedback as soon as it is stored
        # Done once stored, before the push: a page that shows the feedback never finds its request still
        # running (a crash after this leaves it stored, shown by the page's catch-up; pushed_at already
        # made the push at most once).
        _done(turn_ids=[pk])
        if results and pk in wanted:
            turn = results[0][0].turn  # the turn turns_assess read (its session included): no second read
            pushed.extend(live_feedback_push(turn=turn, assessments=[a for a, _ in results]))

    try:
        wanted = (
            set(AssessmentRequest.objects.filter(turn_id__in=held, hints=True).values_list("turn_id", flat=True))
            if hints
            else set()
        )
        with lease_renewed(
            renew=lambda: _lease_renew(turn_ids=held), lease_s=_lease_s(), name=f"assess-{turn_id}+{len(held) - 1}"
        ):
            turns_assess(turn_ids=held, each=push)  # get-or-create per (turn, framework)
    except Exception:
        # Back to pending: the task's retry (or the sweep) claims them again.
        _released(turn_ids=held)
        if len(held) == 1:
            raise
        # One turn can fail a whole batch (an engine error on its text): then each turn alone, as its own
        # delivery would have run it (their messages may already have found them claimed), this task's
        # own turn last: its error, if it has one, is this task's to raise and retry.
        logger.exception("feedback: a batch of %d turns failed; assessing each alone", len(held))
        pushed = []
        for pk in held[1:]:
            try:
                pushed += live_assessment_run(turn_id=pk, hints=hints)
            except Exception:
                logger.exception("feedback: the assessment of turn %s failed (the sweep retries it)", pk)
        return pushed + live_assessment_run(turn_id=turn_id, hints=hints)
    except BaseException:
        _released(turn_ids=held)
        raise
    _done(turn_ids=held)  # those turns_assess found nothing to assess in (not a trainee turn, no text)
    if not connection.in_atomic_block:  # committed (inside a caller's transaction, e.g. a test's, it may roll back)
        for pk in held[1:]:
            _finished_here.put(pk, True)
    return pushed


def _done(*, turn_ids: list[int]) -> None:
    AssessmentRequest.objects.filter(turn_id__in=turn_ids, status=AssessmentRequest.Status.RUNNING).update(
        status=AssessmentRequest.Status.DONE, finished_at=timezone.now()
    )


def _released(*, turn_ids: list[int]) -> None:
    AssessmentRequest.objects.filter(turn_id__in=turn_ids, status=AssessmentRequest.Status.RUNNING).update(
        status=AssessmentRequest.Status.PENDING
    )


def _lease_renew(*, turn_ids: list[int]) -> None:
    AssessmentRequest.objects.filter(turn_id__in=turn_ids, status=AssessmentRequest.Status.RUNNING).update(
        claimed_at=timezone.now()
    )


def live_assessments_sweep(*, limit: int = 500) -> list[int]:
    """Re-enqueue assessments pending (or running) for longer than LIVE_FEEDBACK_STALE_S; their turn ids."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.LIVE_FEEDBACK_STALE_S)
    dead = now - timedelta(seconds=_lease_s())
    due = list(
        AssessmentRequest.objects.filter(
            Q(status=AssessmentRequest.Status.PENDING, created_at__lt=stale)
            & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
            | Q(status=AssessmentRequest.Status.RUNNING, claimed_at__lt=dead)
        )
        .order_by("created_at")
        .values_list("turn_id", flat=True)[:limit]
    )
    if not due:
        return []
    AssessmentRequest.objects.filter(turn_id__in=due).update(enqueued_at=now)
    logger.warning("feedback sweep: re-enqueueing %d assessment(s) still pending: turns %s", len(due), due[:20])
    for turn_id in due:
        live_assessment_enqueue(turn_id=turn_id)
    return due


def live_feedback_html(*, turn: Turn, assessments: list[Assessment]) -> str:
    """The feedback partial for one turn's assessments (ordered as the session page orders them).

    An assessment this worker has just stored (``items_stored``, set by
    feedback.services.assessments.assessment_store) is rendered from memory; any other is read back
    with its items and reviews. For the assessments it has just stored, the framework's names and
    labels come from the worker's copy (feedback.services.assessors.framework_current_info)."""
    from feedback.services.assessors import framework_current_info

    stored = [a for a in assessments if getattr(a, "items_stored", None) is not None]
    # The worker's copy was checked against the database when these were assessed, moments ago.
    infos = {a.framework_slug: info for a in stored if (info := framework_current_info(slug=a.framework_slug))}
    missing = [a.framework_slug for a in assessments if a.framework_slug not in infos]
    if missing:
        infos.update(framework_infos(slugs=missing))
    views = [
        assessment_view_stored(assessment=a, items=a.items_stored, framework=infos[a.framework_slug]) for a in stored
    ]
    others = [a.pk for a in assessments if getattr(a, "items_stored", None) is None]
    if others:
        views += [
            assessment_view(assessment=a, framework=infos[a.framework_slug])
            for a in assessments_with_items().filter(pk__in=others)
        ]
    views.sort(key=lambda view: view.assessment.framework_slug)  # Assessment.Meta.ordering within one turn
    for view in views:
        # Running MITI summary: every coded turn of the session so far (reviews included).
        view.miti = (
            session_miti_so_far(session_id=turn.session_id, up_to_index=turn.index, framework=view.framework)
            if view.codes
            else None
        )
    return render_to_string(
        "feedback/live/_feedback.html",
        {"turn": turn, "views": views, "assessment_ids": ",".join(str(a.pk) for a in assessments)},
    )


def _feedback_event(*, turn: Turn, assessments: list[Assessment]) -> dict:
    return {
        "kind": "feedback",
        "html": live_feedback_html(turn=turn, assessments=assessments),
        "data": {"turn_id": turn.pk, "turn_index": turn.index, "assessments": [a.pk for a in assessments]},
    }


def live_feedback_catch_up(*, turns: list[Turn]) -> list[dict]:
    """The live feedback already pushed for these turns, as push events again: a page that was
    away when it was pushed missed it (simulations.services.session_catch_up). Never pushed
    (exams, still being assessed): not here; its own push comes later."""
    pushed: dict[int, list[Assessment]] = {}
    for assessment in Assessment.objects.filter(turn__in=turns, pushed_at__isnull=False).order_by("pk"):
        pushed.setdefault(assessment.turn_id, []).append(assessment)
    return [_feedback_event(turn=turn, assessments=pushed[turn.pk]) for turn in turns if turn.pk in pushed]


def live_feedback_push(*, turn: Turn, assessments: list[Assessment]) -> list[int]:
    """Push the assessments not pushed yet; returns their ids. The conditional
    UPDATE claims each one, so a re-run task never shows a hint twice."""
    claimed = [
        a
        for a in assessments
        if Assessment.objects.filter(pk=a.pk, pushed_at__isnull=True).update(pushed_at=timezone.now())
    ]
    if claimed:
        event = _feedback_event(turn=turn, assessments=claimed)
        session_push(session_id=turn.session_id, html=event["html"], kind=event["kind"], data=event["data"])
    return [a.pk for a in claimed]
