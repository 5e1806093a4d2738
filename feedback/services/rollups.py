"""Building and dropping per-session rollups (feedback.models.SessionRollup).

``session_rollups_ensure`` fills in the rollups missing for the sessions and frameworks a
page reads, in a fixed number of queries (the missing ones in chunks), and returns every
rollup asked for. The invalidation side is feedback.rollup_signals."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf

from feedback import cohort_stats as stats
from feedback.models import AssessmentItem, Review, SessionRollup
from simulations.models import PracticeSession, Turn

CHUNK = 500  # session ids per IN (...) when computing missing rollups
BEHAVIOUR_CODING = "behaviour-coding"


def session_rollups_invalidate(*, session_ids) -> int:
    ids = [i for i in set(session_ids) if i is not None]
    if not ids:
        return 0
    return SessionRollup.objects.filter(session_id__in=ids).delete()[0]


def _effective_label():
    latest = Review.objects.filter(item=OuterRef("pk")).order_by("-created_at", "-id").values("corrected_label")[:1]
    return Coalesce(NullIf(Subquery(latest), Value("")), F("label"))


def _compute(*, session_ids: list[int], kinds: dict[str, str]) -> dict[tuple[int, str], dict]:
    """Rollup data for (session, framework) from the items of these sessions (2 queries per chunk)."""
    out: dict[tuple[int, str], dict] = {}
    slugs = list(kinds)
    for start in range(0, len(session_ids), CHUNK):
        chunk = session_ids[start:start + CHUNK]
        items = AssessmentItem.objects.filter(assessment__turn__session_id__in=chunk, assessment__framework_slug__in=slugs)
        fixes = {pk: eff for pk, eff in items.filter(Exists(Review.objects.filter(item=OuterRef("pk"))))
                 .annotate(eff=_effective_label()).values_list("pk", "eff")}
        rubric_slugs = [s for s in slugs if kinds[s] != BEHAVIOUR_CODING]
        coding_slugs = [s for s in slugs if kinds[s] == BEHAVIOUR_CODING]
        if rubric_slugs:
            counts = (items.filter(assessment__framework_slug__in=rubric_slugs).order_by()
                      .values_list("assessment__turn__session_id", "assessment__framework_slug", "skill", "label")
                      .annotate(n=Count("pk")))
            for session_id, slug, skill, label, n in counts:
                labels = out.setdefault((session_id, slug), {"skills": {}})["skills"].setdefault(skill, {})
                labels[label] = labels.get(label, 0) + n
            if fixes:
                for pk, session_id, slug, skill, label in items.filter(pk__in=list(fixes), assessment__framework_slug__in=rubric_slugs).values_list(
                        "pk", "assessment__turn__session_id", "assessment__framework_slug", "skill", "label"):
                    labels = out[(session_id, slug)]["skills"][skill]
                    labels[label] -= 1
                    if not labels[label]:
                        del labels[label]
                    labels[fixes[pk]] = labels.get(fixes[pk], 0) + 1
        if coding_slugs:
            per_assessment: dict[int, tuple[int, str, dict]] = {}
            for pk, assessment_id, session_id, slug, skill, label in (
                    items.filter(assessment__framework_slug__in=coding_slugs).order_by()
                    .values_list("pk", "assessment_id", "assessment__turn__session_id", "assessment__framework_slug", "skill", "label")):
                per_assessment.setdefault(assessment_id, (session_id, slug, {}))[2][skill] = fixes.get(pk, label)
            for session_id, slug, labels in per_assessment.values():
                code = stats.coded_turn(labels)
                key = f"{code['behaviour']}|{code['subtype']}"
                codes = out.setdefault((session_id, slug), {"codes": {}})["codes"]
                codes[key] = codes.get(key, 0) + 1
        trainee = Q(speaker=Turn.Speaker.TRAINEE)
        turns = {sid: (voice, text, last) for sid, voice, text, last in (
            Turn.objects.filter(session_id__in=chunk).order_by().values_list("session_id")
            .annotate(voice=Count("pk", filter=trainee & Q(source=Turn.Source.VOICE)),
                      text=Count("pk", filter=trainee & ~Q(source=Turn.Source.VOICE)), last=Max("created_at")))}
        for session_id in chunk:
            voice, text, last = turns.get(session_id, (0, 0, None))
            for slug in slugs:
                out.setdefault((session_id, slug), {})["turns"] = {"voice": voice, "text": text, "last": last.isoformat() if last else None}
    return out


def session_rollups_ensure(*, sessions: QuerySet[PracticeSession], kinds: dict[str, str]) -> int:
    """Store the rollups missing for ``sessions`` x frameworks in ``kinds`` (slug -> framework kind);
    how many were stored. Queries: 1 (which are missing) + 3-4 per 500 missing sessions + the insert."""
    slugs = sorted(kinds)
    if not slugs:
        return 0
    flags = {f"has_{i}": Exists(SessionRollup.objects.filter(session=OuterRef("pk"), framework_slug=slug)) for i, slug in enumerate(slugs)}
    missing: dict[str, list[int]] = {slug: [] for slug in slugs}
    for row in sessions.order_by().annotate(**flags).values_list("pk", *flags):
        for i, slug in enumerate(slugs):
            if not row[1 + i]:
                missing[slug].append(row[0])
    ids = sorted({i for ids in missing.values() for i in ids})
    if not ids:
        return 0
    computed = _compute(session_ids=ids, kinds=kinds)
    rows = [SessionRollup(session_id=i, framework_slug=slug, data=computed.get((i, slug), {}))
            for slug in slugs for i in missing[slug]]
    try:
        with transaction.atomic():
            SessionRollup.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    except IntegrityError:  # pragma: no cover - a session deleted meanwhile; readers skip it
        return 0
    return len(rows)
