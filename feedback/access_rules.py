"""When a session's debrief, scores and hidden persona model may be shown (pure rules).

The debrief reveals what the exercise hides: every feedback item and, for CBT,
the patient's cognitive model next to the scored worksheet. So nothing of it is
shown while the session runs, and for exams nothing until an instructor
releases the results. Reviewers (the trainee's instructors, admins) may read an
ended session's debrief at any time: they grade exams before releasing them.
"""

from __future__ import annotations

from dataclasses import dataclass

NOT_ENDED = "The debrief opens when the session ends. End the session first, then come back."
NOT_RELEASED = "Your instructor has not released the results of this exam yet. You can still hand in your formulation."


@dataclass(frozen=True)
class ResultsAccess:
    debrief: bool  # may open the debrief page
    results: bool  # may see scores, feedback, downloads and the persona's hidden model
    worksheet_submit: bool  # may hand in the formulation worksheet
    reason: str = ""  # why something is closed, for the person


def results_access(*, ended: bool, exam: bool, released: bool, is_owner: bool, is_reviewer: bool) -> ResultsAccess:
    if not ended:
        return ResultsAccess(debrief=False, results=False, worksheet_submit=False, reason=NOT_ENDED)
    if is_reviewer and not is_owner:
        return ResultsAccess(debrief=True, results=True, worksheet_submit=False)
    if exam and not released:
        return ResultsAccess(debrief=True, results=False, worksheet_submit=is_owner, reason=NOT_RELEASED)
    return ResultsAccess(debrief=True, results=True, worksheet_submit=is_owner)
