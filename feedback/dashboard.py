"""feedback's dashboard panels (registered from FeedbackConfig.ready)."""

from __future__ import annotations

from trainer_app.dashboard import DashboardPanel, dashboard_panel_register


def _review_queue(request) -> dict:
    from feedback.selectors.analytics import sessions_recent_for_instructor, trainee_skill_summary

    return {"sessions": sessions_recent_for_instructor(user=request.user), "summary": trainee_skill_summary(user=request.user)}


def _my_debriefs(request) -> dict:
    from simulations.models import PracticeSession

    # Only ended sessions have a debrief (feedback.access_rules).
    ended = PracticeSession.objects.filter(trainee=request.user, status=PracticeSession.Status.ENDED)
    return {"sessions": ended.select_related("scenario_version")[:10]}


def dashboard_panels_register_feedback() -> None:
    for role in ("instructor", "admin"):
        dashboard_panel_register(
            role=role,
            panel=DashboardPanel(key="review", title="Sessions to review", template="feedback/panels/review_queue.html",
                                 context=_review_queue, order=30),
        )
    dashboard_panel_register(
        role="trainee",
        panel=DashboardPanel(key="debriefs", title="Your debriefs", template="feedback/panels/my_debriefs.html",
                             context=_my_debriefs, order=20),
    )
