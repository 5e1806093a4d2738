"""Pushing a turn's assessments to the open session page (live feedback panel)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from feedback.models import Assessment
from feedback.selectors.assessments import assessment_view, assessments_with_items, framework_infos, session_miti
from simulations.events import session_push
from simulations.models import Turn


def live_feedback_html(*, turn: Turn, assessments: list[Assessment]) -> str:
    infos = framework_infos(slugs=[a.framework_slug for a in assessments])
    views = [
        assessment_view(assessment=a, framework=infos[a.framework_slug])
        for a in assessments_with_items().filter(pk__in=[a.pk for a in assessments])
    ]
    miti = {}
    for view in views:
        if view.codes:
            # Running MITI summary: every coded turn of the session so far (reviews included).
            so_far = [
                assessment_view(assessment=a, framework=view.framework)
                for a in assessments_with_items().filter(
                    turn__session_id=turn.session_id, turn__index__lte=turn.index, framework_slug=view.framework.slug
                )
            ]
            miti[view.framework.slug] = session_miti(views=so_far, framework=view.framework)
    for view in views:
        view.miti = miti.get(view.framework.slug)
    return render_to_string("feedback/live/_feedback.html", {"turn": turn, "views": views})


def live_feedback_push(*, turn: Turn, assessments: list[Assessment]) -> list[int]:
    """Push the assessments not pushed yet; returns their ids. The conditional
    UPDATE claims each one, so a re-run task never shows a hint twice."""
    claimed = [
        a for a in assessments
        if Assessment.objects.filter(pk=a.pk, pushed_at__isnull=True).update(pushed_at=timezone.now())
    ]
    if claimed:
        session_push(
            session_id=turn.session_id,
            html=live_feedback_html(turn=turn, assessments=claimed),
            kind="feedback",
            data={"turn_id": turn.pk, "turn_index": turn.index, "assessments": [a.pk for a in claimed]},
        )
    return [a.pk for a in claimed]
