"""Everything the debrief shows, as one plain structure (the page, the
printable file and the JSON/Markdown downloads all read it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from feedback.scoring import FrameworkInfo, SkillScore, next_steps, session_miti, skill_scores, skill_scores_trend
from feedback.selectors.assessments import (
    TurnView,
    framework_infos,
    session_transcript,
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
            section.miti = session_miti(views=views, framework=info)
        elif views:
            items = views_items(views=views)
            section.scores = skill_scores_trend(
                current=skill_scores(items=items, framework=info), history=history.get(slug, [])
            )
            section.next_steps = next_steps(items=items, framework=info, scores=section.scores)
        sections.append(section)
    pending = sum(1 for t in transcript if t.turn.speaker == Turn.Speaker.TRAINEE and not t.assessments)
    persona = session.scenario_version.persona_data or {}
    return Debrief(
        session=session, title=session.scenario_version.scenario_data.get("title") or str(session.scenario_version),
        transcript=transcript, frameworks=sections, pending=pending,
        is_cbt=persona.get("kind") == "cbt-patient" and bool(persona.get("cognitive_model")),
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
                lines.append(f"{i}. **{step['name']}**: {step['guidance']}" + (f" Try: “{step['rewrite']}”" if step["rewrite"] else ""))
            lines.append("")
        if section["miti"]:
            lines += ["### MITI summary", "", "| Figure | You | Target |", "|---|---|---|"]
            for row in section["miti"]["rows"]:
                lines.append(f"| {row['name']} | {'–' if row['value'] is None else row['value']} | {'–' if row['target'] is None else row['target']} |")
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
