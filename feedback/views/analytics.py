"""Instructor analytics: cohort dashboard, printable report, CSV exports, trainee profile, admin overview."""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse

from feedback import cohort_charts
from feedback import cohort_stats as stats
from feedback.forms.analytics import CohortFilterForm
from feedback.selectors import cohort_analytics as ca
from feedback.selectors.engine_health import overview
from trainer_app.decorators import admin_required, instructor_required
from trainer_app.gc_tuning import gc_paused
from trainer_app.roles import user_can_view_trainee

HEATMAP_PAGE_SIZE = 50  # trainees per page of the heatmap (sorting and every figure cover the whole cohort)
EXPORT_TABLES = ("heatmap", "sessions", "items", "trajectories", "volume", "distribution")
FILTER_KEYS = ("framework", "scenario", "difficulty", "date_from", "date_to", "mode")


def _cohort_or_404(request, cohort_id: int):
    cohort = ca.cohort_for_viewer(user=request.user, cohort_id=cohort_id)
    if cohort is None:
        raise Http404("No such cohort.")
    return cohort


def _dashboard_from_request(request, cohort, *, with_evidence: bool = True):
    frameworks = ca.dashboard_frameworks()
    form = CohortFilterForm(request.GET or None, frameworks=frameworks, scenarios=ca.cohort_scenarios(cohort=cohort))
    default = frameworks[0][0] if frameworks else ""
    valid = form.is_valid() if request.GET else True
    if request.GET and valid:
        filters = form.filters(default_framework=default)
    else:
        filters = ca.CohortFilters(framework=default)
        if not request.GET:
            form = CohortFilterForm(initial={"framework": default, "mode": "all"}, frameworks=frameworks,
                                    scenarios=ca.cohort_scenarios(cohort=cohort))
    dash = ca.cohort_dashboard(cohort=cohort, filters=filters, with_evidence=with_evidence)
    sort = (form.cleaned_data.get("sort") if valid and request.GET else "") or "name"
    skill = (form.cleaned_data.get("skill") if valid and request.GET else "") or ""
    desc = bool(form.cleaned_data.get("desc")) if valid and request.GET else False
    if sort in ("latest", "change") and skill not in dash.skills:
        sort, skill = "name", ""
    dash.rows = stats.heatmap_sort(rows=dash.rows, key=sort, skill=skill, descending=desc)
    return form, valid, dash, {"sort": sort, "skill": skill, "desc": desc}


def _filter_query(filters: ca.CohortFilters) -> dict:
    raw = {"framework": filters.framework, "scenario": filters.scenario, "difficulty": filters.difficulty,
           "date_from": filters.date_from.isoformat() if filters.date_from else "",
           "date_to": filters.date_to.isoformat() if filters.date_to else "", "mode": filters.mode if filters.mode != "all" else ""}
    return {k: v for k, v in raw.items() if v}


def _url_for(name: str):
    """reverse() once, then fill in the id per row (hundreds of rows)."""
    template = reverse(name, args=[987654321])
    return lambda pk: template.replace("987654321", str(pk))


def _heat_page(*, dash: ca.CohortDashboard, requested: int | None, base_query: dict, paginate: bool) -> tuple[list, dict]:
    """The heatmap rows on the requested page (all of them for the printable report), and the pager."""
    total = len(dash.rows)
    if not paginate or total <= HEATMAP_PAGE_SIZE:
        return dash.rows, {"pages": 1, "number": 1, "start": 1 if total else 0, "end": total, "total": total}
    pages = -(-total // HEATMAP_PAGE_SIZE)
    number = min(max(requested or 1, 1), pages)
    start = (number - 1) * HEATMAP_PAGE_SIZE
    rows = dash.rows[start:start + HEATMAP_PAGE_SIZE]
    pager = {"pages": pages, "number": number, "start": start + 1, "end": start + len(rows), "total": total,
             "previous": urlencode({**base_query, "page": number - 1}) if number > 1 else "",
             "next": urlencode({**base_query, "page": number + 1}) if number < pages else ""}
    return rows, pager


def _heat_view(dash: ca.CohortDashboard, rows: list) -> list[dict]:
    review_url, profile_url = _url_for("feedback:review_session"), _url_for("feedback:trainee_profile")
    out = []
    for row in rows:
        cells = []
        for cell in row.cells:
            unit = dash.units.get(cell.skill, "score")
            cells.append({"skill": cell.skill, "latest": cohort_charts.format_value(cell.latest, unit),
                          "first": cohort_charts.format_value(cell.first, unit),
                          "change": cohort_charts.format_change(cell.change, unit),
                          "raw": "" if cell.latest is None else cell.latest,
                          "sessions": cell.sessions, "url": review_url(cell.latest_session_id) if cell.latest_session_id else "",
                          "shade": cohort_charts.shade(cell.latest, unit, dash.targets.get(cell.skill)),
                          "below": cell.latest is not None and cell.skill in dash.targets and cell.latest < dash.targets[cell.skill]})
        out.append({"url": profile_url(row.trainee_id), "name": row.name, "sessions": row.sessions, "cells": cells})
    return out


def _page_context(request, cohort, *, with_evidence: bool = True, paginate: bool = True) -> dict:
    form, valid, dash, sorting = _dashboard_from_request(request, cohort, with_evidence=with_evidence)
    query = _filter_query(dash.filters)
    sort_query = {"sort": sorting["sort"], **({"skill": sorting["skill"]} if sorting["skill"] else {}),
                  **({"desc": 1} if sorting["desc"] else {})}
    page_rows, heat_pager = _heat_page(dash=dash, requested=form.cleaned_data.get("page") if valid and request.GET else None,
                                       base_query={**query, **sort_query}, paginate=paginate)
    names = dash.skill_names
    sort_links = {"name": urlencode({**query, "sort": "name", **({"desc": 1} if sorting["sort"] == "name" and not sorting["desc"] else {})}),
                  "sessions": urlencode({**query, "sort": "sessions", "desc": 1})}
    columns = []
    for skill in dash.skills:
        current = sorting["skill"] == skill and sorting["sort"] == "latest"
        columns.append({"skill": skill, "name": names.get(skill, skill), "target": dash.targets.get(skill),
                        "target_text": cohort_charts.format_value(dash.targets.get(skill), dash.units.get(skill, "score"))
                        if skill in dash.targets else "",
                        "sort_latest": urlencode({**query, "sort": "latest", "skill": skill, **({} if current and sorting["desc"] else {"desc": 1})}),
                        "sort_change": urlencode({**query, "sort": "change", "skill": skill, "desc": 1}),
                        "sorted": sorting["skill"] == skill})
    trajectories = [cohort_charts.trajectory_chart(trajectory=t, name=names.get(t.skill, t.skill), unit=dash.units.get(t.skill, "score"),
                                                   trainee_names=dash.trainees) for t in dash.trajectories]
    if dash.framework and dash.framework.kind == ca.BEHAVIOUR_CODING:  # codes: one bar per code family
        dist_summaries = [stats.SkillSummary(skill=k, mean_latest=None, trainees=0, labels=v) for k, v in sorted(dash.distributions.items())]
        dist_names = {"behaviour": "Behaviour", "reflection": "Reflections", "question": "Questions", "input": "Therapist input"}
        labels_for = lambda skill: sorted(dash.distributions.get(skill, {}))  # noqa: E731
    else:
        dist_summaries, dist_names = dash.summaries, names
        labels_for = lambda skill: dash.framework.skill_labels(skill) if dash.framework else []  # noqa: E731
    summaries = [{"skill": s.skill, "name": names.get(s.skill, s.skill), "mean": cohort_charts.format_value(s.mean_latest, dash.units.get(s.skill, "score")),
                  "trainees": s.trainees, "below": s.below_target, "target": s.target,
                  "target_text": cohort_charts.format_value(s.target, dash.units.get(s.skill, "score")) if s.target is not None else ""}
                 for s in dash.summaries]
    weakest = [{"skill": s.skill, "name": names.get(s.skill, s.skill),
                "mean": cohort_charts.format_value(s.mean_latest, dash.units.get(s.skill, "score")),
                "target_text": cohort_charts.format_value(s.target, dash.units.get(s.skill, "score")) if s.target is not None else "",
                "turns": dash.evidence.get(s.skill, [])} for s in dash.weakest]
    never = [dash.trainees[t] for t in dash.engagement.never] if dash.engagement else []
    dropped = [dash.trainees[t] for t in dash.engagement.dropped] if dash.engagement else []
    return {
        "cohort": cohort, "form": form, "form_valid": valid, "dash": dash, "query": urlencode(query), "sorting": sorting,
        "sort_links": sort_links, "columns": columns, "heat": _heat_view(dash, page_rows), "heat_pager": heat_pager, "trajectories": trajectories,
        "summaries": summaries, "weakest": weakest,
        "distribution": cohort_charts.distribution_rows(summaries=dist_summaries, names=dist_names, labels_for=labels_for),
        "volume_chart": cohort_charts.volume_chart(weeks=dash.weeks), "sessions_chart": cohort_charts.sessions_chart(weeks=dash.weeks),
        "weeks": dash.weeks, "engagement": dash.engagement, "never": never, "dropped": dropped,
        "minutes_total": round(sum(f.minutes for f in dash.facts)),
        "exports": [(t, f"{t}.csv") for t in EXPORT_TABLES],
    }


@instructor_required
def cohort_dashboard(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = _cohort_or_404(request, cohort_id)
    with gc_paused():  # ~100 000 short-lived objects per page (trainer_app.gc_tuning)
        context = _page_context(request, cohort)
        return render(request, "feedback/analytics/cohort.html", context, status=200 if context["form_valid"] else 400)


@instructor_required
def cohort_report(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = _cohort_or_404(request, cohort_id)
    with gc_paused():
        context = _page_context(request, cohort, paginate=False)  # printed: every trainee
        return render(request, "feedback/analytics/report.html", context, status=200 if context["form_valid"] else 400)


# --- CSV --------------------------------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(row: list) -> list:
    """Text that a spreadsheet would run as a formula (a trainee's words, a name) gets a leading apostrophe;
    numbers stay numbers."""
    return [f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in row]


def _csv_response(rows, filename: str, *, stream: bool = False) -> HttpResponse:
    writer = csv.writer(_Echo())
    if stream:
        response = StreamingHttpResponse((writer.writerow(_safe(r)) for r in rows), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse("".join(writer.writerow(_safe(r)) for r in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export_rows(table: str, context: dict, dash: ca.CohortDashboard):
    unit = dash.units
    fmt = lambda v: "" if v is None else round(v, 3)  # noqa: E731
    if table == "heatmap":
        yield ["trainee", "skill", "skill_name", "first", "latest", "best", "change", "sessions", "unit", "target"]
        for row in dash.rows:
            for cell in row.cells:
                yield [row.name, cell.skill, dash.skill_names.get(cell.skill, cell.skill), fmt(cell.first), fmt(cell.latest),
                       fmt(cell.best), fmt(cell.change), cell.sessions, unit.get(cell.skill, "score"), fmt(dash.targets.get(cell.skill))]
    elif table == "sessions":
        by_session: dict[int, dict[str, float]] = {}
        for v in dash.values:
            by_session.setdefault(v.session_id, {})[v.skill] = v.value
        yield ["session_id", "trainee", "started_at", "ended_at", "status", "exam", "minutes", "voice_turns", "text_turns",
               *[f"value_{s}" for s in dash.skills]]
        for f in sorted(dash.facts, key=lambda f: (dash.trainees.get(f.trainee_id, ""), f.started_at, f.session_id)):
            values = by_session.get(f.session_id, {})
            yield [f.session_id, dash.trainees.get(f.trainee_id, ""), f.started_at.isoformat(), f.ended_at.isoformat() if f.ended_at else "",
                   f.status, int(f.exam), round(f.minutes, 1), f.voice_turns, f.text_turns, *[fmt(values.get(s)) for s in dash.skills]]
    elif table == "trajectories":
        yield ["skill", "session_ordinal", "cohort_median", "trainees", "target"]
        for t in dash.trajectories:
            for i, m in enumerate(t.median):
                yield [t.skill, i + 1, fmt(m), t.counts[i], fmt(t.target)]
    elif table == "volume":
        yield ["week_start", "sessions", "completed", "minutes", "voice_turns", "text_turns", "active_trainees"]
        for w in dash.weeks:
            yield [w.week.isoformat(), w.sessions, w.completed, w.minutes, w.voice_turns, w.text_turns, w.trainees]
    elif table == "distribution":
        yield ["skill", "label", "items"]
        for skill, labels in sorted(dash.distributions.items()):
            for label, n in sorted(labels.items()):
                yield [skill, label, n]
    elif table == "items":
        yield ["trainee", "session_id", "started_at", "turn_index", "text", "skill", "engine_label", "effective_label",
               "review_verdict", "review_comment", "reviewer", "confidence", "backend"]
        sessions = ca.sessions_in_scope(trainee_ids=list(dash.trainees), filters=dash.filters)
        rows = ca.items_for_export(sessions=sessions, framework_slug=dash.filters.framework)
        for (trainee, session_id, started, index, text, skill, label, review_label, verdict, review_text, reviewer, confidence,
             backend) in rows.iterator(chunk_size=2000):
            yield [trainee, session_id, started.isoformat(), index, text, skill, label, review_label or label, verdict or "",
                   review_text or "", reviewer or "", round(confidence or 0.0, 3), backend]


@instructor_required
def cohort_export(request: HttpRequest, cohort_id: int, table: str) -> HttpResponse:
    if table not in EXPORT_TABLES:
        raise Http404(f"No table {table!r}; expected one of {', '.join(EXPORT_TABLES)}.")
    cohort = _cohort_or_404(request, cohort_id)
    form, valid, dash, _sorting = _dashboard_from_request(request, cohort, with_evidence=False)
    if not valid:
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return HttpResponse(f"Invalid filters: {errors}\n", status=400, content_type="text/plain; charset=utf-8")
    filename = f"cohort-{cohort.pk}-{dash.filters.framework or 'all'}-{table}.csv"
    return _csv_response(_export_rows(table, {}, dash), filename, stream=table == "items")


# --- trainee profile --------------------------------------------------------------------------------------------


@login_required
def trainee_profile(request: HttpRequest, trainee_id: int) -> HttpResponse:
    """The trainee themself, the instructors of their cohorts, admins (404 for anyone else)."""
    if not user_can_view_trainee(user=request.user, trainee_id=trainee_id):
        raise Http404("No such trainee.")
    trainee = get_user_model().objects.filter(pk=trainee_id).first()
    if trainee is None:
        raise Http404("No such trainee.")
    # A trainee's own profile shows no exam whose results are still sealed (feedback.access_rules).
    profile = ca.trainee_profile(trainee=trainee, sealed_exams_hidden=request.user.pk == trainee.pk)
    frameworks = []
    for fp in profile.frameworks:
        frameworks.append({
            "profile": fp,
            "cells": [{"skill": c.skill, "name": fp.skill_names.get(c.skill, c.skill), "first": cohort_charts.format_value(c.first, fp.units[c.skill]),
                       "latest": cohort_charts.format_value(c.latest, fp.units[c.skill]), "best": cohort_charts.format_value(c.best, fp.units[c.skill]),
                       "change": cohort_charts.format_change(c.change, fp.units[c.skill]), "sessions": c.sessions} for c in fp.cells],
            "charts": [cohort_charts.trajectory_chart(trajectory=t, name=fp.skill_names.get(t.skill, t.skill), unit=fp.units[t.skill],
                                                      trainee_names={trainee.pk: "this trainee"}) for t in fp.trajectories if t.lines],
            "strengths": [(fp.skill_names.get(c.skill, c.skill), cohort_charts.format_value(c.latest, fp.units[c.skill])) for c in fp.strengths],
            "next": [(fp.skill_names.get(c.skill, c.skill), cohort_charts.format_value(c.latest, fp.units[c.skill])) for c in fp.next_skills],
        })
    return render(request, "feedback/analytics/trainee.html", {
        "trainee": trainee, "profile": profile, "frameworks": frameworks,
        "is_self": request.user.pk == trainee.pk,
    })


# --- admin overview ---------------------------------------------------------------------------------------------


@admin_required
def admin_overview(request: HttpRequest) -> HttpResponse:
    try:
        days = max(1, min(int(request.GET.get("days") or 30), 365))
    except ValueError:
        days = 30
    data = overview(days=days)
    return render(request, "feedback/analytics/overview.html", {"o": data, "days": days})
