"""Everything the debrief shows, as one plain structure (the page, the
printable file and the JSON/Markdown downloads all read it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from feedback.scoring import FrameworkInfo, SkillScore, next_steps, session_miti, skill_scores, skill_scores_trend
from feedback.selectors.assessments import (
    AssessmentView,
    TurnView,
    framework_infos,
    session_transcript,
    trainee_miti_history,
    trainee_score_history,
    transcript_assessment_views,
    views_items,
)
from simulations.models import PracticeSession, Turn


@dataclass
class FrameworkDebrief:
    framework: FrameworkInfo
    scores: list[SkillScore] = field(default_factory=list)
    next_steps: list[dict] = field(default_factory=list)
    miti: dict | None = None


@dataclass
class Debrief:
    session: PracticeSession
    title: str
    transcript: list[TurnView]
    frameworks: list[FrameworkDebrief]
    pending: int  # trainee turns not assessed yet
    is_cbt: bool


def session_is_cbt(*, session: PracticeSession) -> bool:
    """A CBT patient with a cognitive model: the debrief has a formulation worksheet."""
    persona = session.scenario_version.persona_data or {}
    return persona.get("kind") == "cbt-patient" and bool(persona.get("cognitive_model"))


# -- motivational interviewing: trend and what to try next, like the skill rubrics ----------

_MI_STEPS = {
    "reflection_to_question_ratio": (
        "Reflect before you ask",
        "After the client answers, reflect what you heard before the next question: aim for at least one reflection per question.",
        "question",
    ),
    "percent_complex_reflections": (
        "Go beyond their words",
        "Reflect the feeling or meaning underneath (a complex reflection), not only what was said.",
        "reflection",
    ),
    "percent_open_questions": (
        "Open your questions",
        "Ask questions that start with 'What' or 'How', so the client does the talking.",
        "question",
    ),
}
_MI_EXTRA_STEPS = [
    ("advice", "Ask before advising", "Ask permission before giving advice, and ask what they make of it afterwards."),
    ("summary", "Summarise", "Every few minutes, pull together what you have heard, including both sides of their ambivalence."),
    ("change-talk", "Follow change talk", "When the client says why or how they might change, reflect it and ask for more."),
]


def miti_with_trend(*, session: PracticeSession, framework: FrameworkInfo, current: dict) -> dict:
    """The MITI summary with each figure's values in the trainee's earlier sessions (oldest first) and the change."""
    history = trainee_miti_history(session=session, framework=framework)
    for row in current["rows"]:
        row["previous"] = [h[row["key"]] for h in history if h.get(row["key"]) is not None]
        row["delta"] = round(row["value"] - row["previous"][-1], 2) if row["previous"] and row["value"] is not None else None
    current["trend"] = bool(history)
    return current


def mi_next_steps(*, views: list[AssessmentView], miti: dict, count: int = 3) -> list[dict]:
    """Three things to try next: the MITI figures furthest below target first, each with a rewrite from this session."""
    def rewrite_for(behaviour: str, subtype: str | None = None):
        for view in reversed(views):
            codes = view.codes or {}
            if codes.get("behaviour") != behaviour or (subtype and codes.get("subtype") != subtype):
                continue
            for item in view.items:
                if item.rewrite:
                    return item
        return None

    def shortfall(row: dict) -> float:
        if row["value"] is None or row["target"] is None:
            return 0.5  # nothing coded yet for it: worth trying
        return (float(row["target"]) - float(row["value"])) / max(float(row["target"]), 1e-9)

    steps: list[dict] = []
    for row in sorted((r for r in miti["rows"] if not r["met"]), key=shortfall, reverse=True):
        name, guidance, behaviour = _MI_STEPS[row["key"]]
        subtype = {"percent_complex_reflections": "simple", "percent_open_questions": "closed"}.get(row["key"])
        best = rewrite_for(behaviour, subtype)
        steps.append({
            "skill": row["key"], "name": name, "score": None, "guidance": guidance,
            "rewrite": best.rewrite if best else "", "said": best.item.assessment.turn.text if best else "",
            "suggestion": best.suggestion if best else "",
        })
    for key, name, guidance in _MI_EXTRA_STEPS:
        if len(steps) >= count:
            break
        best = rewrite_for("therapist_input", "advice") if key == "advice" else None
        if key == "advice" and best is None:
            continue
        steps.append({
            "skill": key, "name": name, "score": None, "guidance": guidance,
            "rewrite": best.rewrite if best else "", "said": best.item.assessment.turn.text if best else "",
            "suggestion": best.suggestion if best else "",
        })
    return steps[:count]


def debrief_build(*, session: PracticeSession) -> Debrief:
    """A fixed number of queries however many frameworks and earlier sessions."""
    transcript = session_transcript(session=session)
    slugs = list(session.scenario_version.framework_slugs or [])
    infos = framework_infos(slugs=slugs)
    history = trainee_score_history(
        session=session, frameworks={slug: infos[slug] for slug in slugs if infos[slug].kind != "behaviour-coding"}
    )
    sections = []
    for slug in slugs:
        info = infos[slug]
        views = transcript_assessment_views(transcript=transcript, framework_slug=slug)
        section = FrameworkDebrief(framework=info)
        if info.kind == "behaviour-coding":
            section.miti = miti_with_trend(session=session, framework=info, current=session_miti(views=views, framework=info))
            section.next_steps = mi_next_steps(views=views, miti=section.miti) if views else []
        elif views:
            items = views_items(views=views)
            section.scores = skill_scores_trend(
                current=skill_scores(items=items, framework=info), history=history.get(slug, [])
            )
            section.next_steps = next_steps(items=items, framework=info, scores=section.scores)
        sections.append(section)
    pending = sum(1 for t in transcript if t.turn.speaker == Turn.Speaker.TRAINEE and not t.assessments)
    return Debrief(
        session=session, title=session.scenario_version.scenario_data.get("title") or str(session.scenario_version),
        transcript=transcript, frameworks=sections, pending=pending,
        is_cbt=session_is_cbt(session=session),
    )


def debrief_as_dict(*, debrief: Debrief) -> dict:
    return {
        "session": debrief.session.pk,
        "scenario": debrief.title,
        "trainee": debrief.session.trainee.get_username(),
        "started_at": debrief.session.started_at.isoformat(),
        "frameworks": [
            {
                "slug": s.framework.slug, "name": s.framework.name, "kind": s.framework.kind,
                "scores": [{"skill": c.skill, "name": c.name, "score": c.score, "turns": c.count, "labels": c.labels,
                            "previous_sessions": c.previous} for c in s.scores],
                "next_steps": s.next_steps,
                "miti": s.miti,
            }
            for s in debrief.frameworks
        ],
        "transcript": [
            {
                "index": t.turn.index, "speaker": t.turn.speaker, "text": t.turn.text,
                "assessments": [
                    {"framework": a.framework.slug, "items": [
                        {"skill": e.skill, "label": e.label, "engine_label": e.engine_label, "reviewed": e.verdict or None,
                         "evidence": e.item.evidence, "suggestion": e.suggestion, "rewrite": e.rewrite}
                        for e in a.shown
                    ]}
                    for a in t.assessments
                ],
            }
            for t in debrief.transcript
        ],
    }


def debrief_as_markdown(*, debrief: Debrief) -> str:
    data = debrief_as_dict(debrief=debrief)
    lines = [f"# Debrief: {data['scenario']}", "", f"Trainee: {data['trainee']} · session {data['session']} · {data['started_at'][:16]}", ""]
    for section in data["frameworks"]:
        lines += [f"## {section['name']}", ""]
        if section["scores"]:
            lines += ["| Skill | Score | Earlier sessions |", "|---|---|---|"]
            for s in section["scores"]:
                score = "–" if s["score"] is None else f"{round(s['score'] * 100)}%"
                earlier = ", ".join(f"{round(p * 100)}%" for p in s["previous_sessions"]) or "–"
                lines.append(f"| {s['name']} | {score} | {earlier} |")
            lines.append("")
        if section["next_steps"]:
            lines += ["### Three things to try next", ""]
            for i, step in enumerate(section["next_steps"], 1):
                lines.append(f"{i}. **{step['name']}**: {step['guidance']}" + (f" Try: \u201c{step['rewrite']}\u201d" if step["rewrite"] else ""))
            lines.append("")
        if section["miti"]:
            lines += ["### MITI summary", "", "| Figure | You | Target | Earlier sessions |", "|---|---|---|---|"]
            for row in section["miti"]["rows"]:
                earlier = ", ".join(str(p) for p in row.get("previous") or []) or "–"
                lines.append(f"| {row['name']} | {'–' if row['value'] is None else row['value']} | {'–' if row['target'] is None else row['target']} | {earlier} |")
            lines.append("")
    lines += ["## Transcript", ""]
    for turn in data["transcript"]:
        who = "You" if turn["speaker"] == "trainee" else "Partner"
        lines.append(f"**{who}:** {turn['text']}")
        for a in turn["assessments"]:
            for item in a["items"]:
                note = " (instructor)" if item["reviewed"] else ""
                lines.append(f"- {item['skill']}: {item['label']}{note}" + (f" — {item['suggestion']}" if item["suggestion"] else ""))
        lines.append("")
    return "\n".join(lines)
