"""Who may open a session's debrief or review it. Denials are 404 (do not confirm a session exists)."""

from __future__ import annotations

from feedback.access_rules import ResultsAccess, results_access
from feedback.selectors.assessments import session_get
from simulations.models import PracticeSession
from trainer_app.roles import trainees_visible_to, user_can_view_trainee, user_is_instructor


def session_for_viewer(*, user, session_id: int) -> PracticeSession | None:
    """The trainee themself, their instructors, admins."""
    session = session_get(session_id=session_id)
    if session is None or not user_can_view_trainee(user=user, trainee_id=session.trainee_id):
        return None
    return session


def session_for_reviewer(*, user, session_id: int) -> PracticeSession | None:
    """Instructors of the trainee's cohorts, and admins."""
    if not user.is_authenticated or not user_is_instructor(user=user):
        return None
    session = session_get(session_id=session_id)
    if session is None or not trainees_visible_to(user=user).filter(pk=session.trainee_id).exists():
        return None
    return session


def session_results_access(*, user, session: PracticeSession) -> ResultsAccess:
    """What of ``session``'s debrief ``user`` (already allowed to view the session) may see now."""
    is_owner = user.pk == session.trainee_id
    is_reviewer = user_is_instructor(user=user) and trainees_visible_to(user=user).filter(pk=session.trainee_id).exists()
    return results_access(
        ended=session.status == PracticeSession.Status.ENDED,
        exam=session.exam,
        released=session.results_released_at is not None,
        is_owner=is_owner,
        is_reviewer=is_reviewer,
    )
