"""What feedback holds about a person for export and erasure (trainer_app.privacy): feedback on
their turns, their worksheets, the reviews they wrote, and exemplars made from their words."""

from __future__ import annotations

from feedback.models import AssessmentItem, Exemplar, FormulationWorksheet, Review
from trainer_app.privacy.registry import PersonalData, PrivacyContributor, privacy_contributor_register


def _export(*, user) -> PersonalData:
    items = AssessmentItem.objects.filter(assessment__turn__session__trainee=user).select_related("assessment__turn")
    return PersonalData(records={
        "feedback_on_my_turns": [
            {"session": i.assessment.turn.session_id, "turn": i.assessment.turn.index,
             "framework": i.assessment.framework_slug, "skill": i.skill, "label": i.label,
             "suggestion": i.suggestion, "rewrite": i.rewrite} for i in items.order_by("assessment__turn_id", "position")
        ],
        "formulation_worksheets": list(FormulationWorksheet.objects.filter(session__trainee=user).values(
            "session_id", "fields", "score", "submitted_at", "after_reveal")),
        "reviews_i_wrote": list(Review.objects.filter(reviewer=user).values(
            "item_id", "verdict", "corrected_label", "corrected_text", "corrected_rewrite", "created_at")),
        "exemplars_i_wrote": list(Exemplar.objects.filter(created_by=user).values(
            "framework__slug", "skill", "label", "utterance", "feedback", "rewrite", "source", "created_at")),
    })


def _erase(*, user) -> dict[str, int]:
    """Runs before the sessions go: exemplars corrected from this person's words are deleted unless
    an author marked them anonymised (then the review that linked them to the person goes with the session)."""
    derived = Exemplar.objects.filter(
        pk__in=Review.objects.filter(item__assessment__turn__session__trainee=user, exemplar__isnull=False)
        .values("exemplar_id"))
    kept = derived.filter(anonymised=True).count()
    deleted, _ = derived.filter(anonymised=False).delete()
    return {"exemplars_from_their_words_deleted": deleted, "exemplars_from_their_words_kept_anonymised": kept}


def privacy_register_feedback() -> None:
    privacy_contributor_register(contributor=PrivacyContributor(name="feedback", export=_export, erase=_erase,
                                                                erase_order=10))
