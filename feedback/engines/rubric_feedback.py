"""Suggestions and rewrites for skill-rubric items, adapted to the utterance.

Offline we cannot write new prose, so feedback is built from parts that are
all specific: the trainee's own words (quoted), the cue that decided the
label (a hedge, a judgement, a missing request), the skill's guidance, and
the contrast between the nearest weak and strong expert exemplars. An
exemplar's own feedback text is not pasted: it talks about a different
situation.
"""

from __future__ import annotations

import re

from feedback.engines.lexical_cues import skill_cues
from feedback.engines.types import AlignedExemplar

_QUOTE_CHARS = 90

# What each DEAR MAN skill asks for when it is missing, in one line.
_MISSING_MOVE = {
    "describe": "Open with the facts: what happened, when and how often, with no judgement.",
    "express": "Say how the situation affects you with an \"I feel …\" statement.",
    "assert": "Ask for what you want, clearly and directly: \"I'd like …\" or \"Would you …?\"",
    "reinforce": "Tell them what they gain by saying yes: \"That would really help, because …\"",
    "mindful": "Keep coming back to your request, calmly, instead of following side issues.",
    "appear-confident": "Say it plainly, without apologising or hedging.",
    "negotiate": "Offer a way to meet in the middle: \"What if …?\" or \"Would you be willing to …?\"",
}

_FEELING = re.compile(
    r"\b(frustrated|worried|anxious|upset|hurt|stressed|overwhelmed|disappointed|concerned|uncomfortable|"
    r"undervalued|unappreciated|exhausted|nervous|resentful|taken for granted|let down)\b",
    re.IGNORECASE,
)
_JUDGEMENT_SWAPS = [
    (re.compile(r"\balways\b", re.IGNORECASE), "often"),
    (re.compile(r"\bnever\b", re.IGNORECASE), "rarely"),
    (re.compile(r"\bevery single\b", re.IGNORECASE), "more than one"),
    (re.compile(r"\b(?:so |really |completely )?(lazy|ridiculous|unfair|selfish|rude|useless|inconsiderate|pathetic|stupid|disrespectful)\b,?\s*", re.IGNORECASE), ""),
    (re.compile(r"\b(?:clearly|obviously|as usual|typical(?:ly)?)\b,?\s*", re.IGNORECASE), ""),
]
_BLAME_SWAPS = [
    (re.compile(r"\byou make me feel\b", re.IGNORECASE), "I feel"),
    (re.compile(r"\byou made me feel\b", re.IGNORECASE), "I felt"),
    (re.compile(r"\byou make me\b", re.IGNORECASE), "I feel"),
    (re.compile(r"\bbecause of you\b", re.IGNORECASE), "when this happens"),
]
_SOFTENER_SWAPS = [
    (re.compile(r"\bI was (?:just )?wondering if you could\b", re.IGNORECASE), "Would you"),
    (re.compile(r"\bI was (?:just )?wondering if\b", re.IGNORECASE), "I'd like to know if"),
    (re.compile(r"\bmaybe you could\b", re.IGNORECASE), "could you"),
    (re.compile(r",?\s*if (?:it'?s|that'?s) not too much (?:trouble|to ask)\b", re.IGNORECASE), ""),
    (re.compile(r",?\s*(?:no pressure|only if you want|it'?s fine if not|don'?t worry if not)\b", re.IGNORECASE), ""),
]


# Why a skill is absent although something in the utterance looked like it (skill_evidence).
_ABSENT_BECAUSE = {
    "mindful": {
        "no deflection to return from": "Nothing has pulled you off your request yet, so Mindful is not needed here. When they deflect or push back, come back to your request in a few words.",
        "the request is dropped after the push-back": "They pushed back and the request was dropped. Acknowledge what they said in a few words, then say your request again, calmly.",
        "the reply follows the diversion without coming back to the request": "They changed the subject and the reply follows them. Acknowledge it in a few words (\u201cWe can talk about that separately\u201d), then repeat your request.",
    },
    "appear-confident": {
        "backs down": "This backs down from your request. You can stay polite and still hold your position: say the request again, plainly.",
        "nothing of substance to stand behind": "",
    },
    "assert": {"the request is dropped": "The request is dropped here. Say what you want again, in one plain sentence."},
    "negotiate": {"nothing was asked yet, so there is nothing to give up": ""},
}


def quote(*, text: str) -> str:
    """The trainee's words, shortened at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= _QUOTE_CHARS:
        return text
    return text[:_QUOTE_CHARS].rsplit(" ", 1)[0] + " …"


def _tidy(text: str) -> str:
    text = re.sub(r"\s+([,.!?])", r"\1", text)
    text = re.sub(r"([,.!?])\1+", r"\1", text)
    text = re.sub(r"^\s*[,;.]\s*", "", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    text = re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text


def _apply(text: str, swaps) -> str:
    for pattern, replacement in swaps:
        text = pattern.sub(replacement, text)
    return _tidy(text)


def _without_hedges(text: str, skill: str) -> str:
    negative = skill_cues(skill=skill).negative
    if negative is None:
        return text
    stripped = negative.sub("", text)
    stripped = re.sub(r"\b(I'm|I am)\s*,", "", stripped)
    return _tidy(stripped)


def _without_sentences_matching(text: str, pattern: re.Pattern | None) -> str:
    if pattern is None:
        return text
    kept = [s for s in re.split(r"(?<=[.!?])\s+", text) if not pattern.search(s)]
    return _tidy(" ".join(kept))


def _feeling_from(exemplars: list[AlignedExemplar]) -> str:
    for exemplar in exemplars:
        match = _FEELING.search(exemplar.utterance)
        if match:
            return match.group(1).lower()
    return "frustrated"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _statement(text: str) -> str:
    """A sentence that no longer carries a hedge reads as a statement: "I need the Friday off?" -> "I need the Friday off."."""
    return re.sub(r"(^|[.!]\s+)(I (?:need|want|would like|'d like|am asking|'m asking)[^?.!]*)\?", r"\1\2.", text)


def dear_man_rewrite(
    *, skill: str, label: str, utterance: str, strong_exemplars: list[AlignedExemplar], earlier_request: str = "",
    collapsed: bool = False,
) -> str:
    """A better way to say *this* utterance for ``skill`` ("" when already strong).

    ``earlier_request``: the trainee's own request from earlier in the
    conversation, which Mindful (and a collapse) rewrites come back to;
    ``collapsed``: the utterance backs down, so it is replaced rather than extended.
    """
    if label == "strong":
        return ""
    base = _sentence(utterance)
    cues = skill_cues(skill=skill)
    if collapsed and skill in ("mindful", "appear-confident", "assert", "negotiate"):
        if earlier_request:
            return _tidy(f"I hear you. I'm still asking: {_sentence(earlier_request)}")
        return "I hear you. I'm still asking for [your request], and I'd like an answer today."
    if skill == "appear-confident":
        return _statement(_without_hedges(base, skill))
    if skill == "describe":
        if label == "weak":
            return _apply(base, _JUDGEMENT_SWAPS)
        return f"Over the last few weeks, [what happened, with dates or numbers]. {base}"
    if skill == "express":
        if label == "weak":
            return _apply(base, _BLAME_SWAPS)
        return f"{base} When that happens, I feel {_feeling_from(strong_exemplars)}."
    if skill == "assert":
        if label == "weak":
            return _apply(base, _SOFTENER_SWAPS)
        return f"{base} So what I'd like is [the one thing you are asking for]."
    if skill == "reinforce":
        kept = _without_sentences_matching(base, cues.negative) if label == "weak" else base
        return _tidy(f"{kept} That would really help me, and [what they gain from it].")
    if skill == "mindful":
        if earlier_request:
            return _tidy(f"I hear you. Coming back to what I asked: {_sentence(earlier_request)}")
        kept = _without_sentences_matching(base, cues.negative) if label == "weak" else base
        return _tidy(f"I hear you, and I'd still like to come back to what I asked. {kept}")
    if skill == "negotiate":
        kept = _without_sentences_matching(base, cues.negative) if label == "weak" else base
        return _tidy(f"{kept} If that's too much, what if we [a smaller step]? What would work for you?")
    return ""


def generic_rewrite(*, label: str, nearest_weak: AlignedExemplar | None) -> str:
    """Custom rubrics: only reuse an expert rewrite written for (nearly) these words."""
    if label == "strong" or nearest_weak is None:
        return ""
    return nearest_weak.rewrite if nearest_weak.similarity >= 0.8 else ""


def suggestion_text(
    *,
    skill: dict,
    label: str,
    labels: list[str],
    utterance: str,
    evidence: str,
    positive_cues: list[str],
    negative_cues: list[str],
    pair: tuple[AlignedExemplar, AlignedExemplar] | None,
    absent_reason: str = "",
) -> str:
    """One or two sentences for the trainee, quoting them and naming the change."""
    slug = skill.get("slug", "")
    name = skill.get("name") or slug
    guidance = str(skill.get("guidance") or skill.get("definition") or "").strip()
    said = quote(text=evidence or utterance)
    best = labels[0] if labels else "strong"
    if label == best:
        shown = positive_cues[0].strip() if positive_cues else ""
        cue = f" (\u201c{shown}\u201d)" if shown and len(shown) < len(said) else ""
        return f"\u201c{said}\u201d{cue} does {name} well. Keep it."
    issue = skill_cues(skill=slug).issue
    worded = [c for c in negative_cues if re.search(r"[A-Za-z]", c)]
    if label == (labels[-1] if labels else "absent") and absent_reason and slug in _ABSENT_BECAUSE:
        head = _ABSENT_BECAUSE[slug].get(absent_reason, "") or f"\u201c{said}\u201d has no {name} yet. {_MISSING_MOVE.get(slug, '')}".strip()
    elif worded and issue:
        found = ", ".join(f"\u201c{c}\u201d" for c in dict.fromkeys(c.lower() for c in worded))
        head = f"In \u201c{said}\u201d, {found}: {issue}."
    elif label == (labels[-1] if labels else "absent") and slug in _MISSING_MOVE:
        head = f"\u201c{said}\u201d has no {name} yet. {_MISSING_MOVE[slug]}"
    elif slug in _MISSING_MOVE:
        head = f"\u201c{said}\u201d is a start on {name}. {_MISSING_MOVE[slug]}"
    else:
        head = f"\u201c{said}\u201d is rated {label} on {name}." + (f" {_sentence(guidance)}" if guidance else "")
    if pair is not None:
        strong, weak = pair
        head += f" Experts rate \u201c{quote(text=weak.utterance)}\u201d {weak.label} but \u201c{quote(text=strong.utterance)}\u201d {strong.label}."
    return head


# -- the per-turn summary: what matters most now -----------------------------------

# Which missing or weak skill to work on first, by the moment of the conversation.
_WEAK_ORDER = ("assert", "appear-confident", "describe", "express", "mindful", "reinforce", "negotiate")
_PRAISE_ORDER = ("mindful", "assert", "negotiate", "reinforce", "describe", "express", "appear-confident")


def _next_skill(
    *, labels: dict[str, str], reasons: dict[str, str], moment: str, done_before: set[str], pushbacks: int, objection: bool
) -> str | None:
    """The one DEAR MAN skill that would most help the next thing the trainee says.

    ``objection``: the partner's last line resists a request (a no, a why,
    a counter-charge), so there is a request to come back to.
    """
    if reasons.get("appear-confident") == "backs down":
        return "mindful" if moment == "pushback" else "appear-confident"
    if moment == "pushback" and labels.get("mindful") == "absent" and (objection or "assert" in done_before):
        return "mindful"
    for skill in _WEAK_ORDER:
        if labels.get(skill) == "weak":
            return skill
    done = done_before | {s for s, label in labels.items() if label != "absent"}
    if moment == "agreement":
        return None if "reinforce" in done else "reinforce"
    if moment == "pushback" and (objection or "assert" in done_before):
        # Holding the request is done or under way: give them a reason to say yes, then room to move.
        for skill in ("reinforce", "negotiate") if pushbacks < 2 else ("negotiate", "reinforce"):
            if skill not in done:
                return skill
        return None
    for skill in ("describe", "assert", "express", "reinforce"):
        if skill not in done:
            return skill
    return None


def coaching_summary(
    *,
    names: dict[str, str],
    items: list,
    evidence: dict,
    moment: str,
    done_before: set[str],
    pushbacks: int,
    objection: bool = False,
) -> tuple[str, list[str]]:
    """(feedback paragraph, the one or two skills it is about) for one DEAR MAN turn.

    What was good, with the trainee's exact words; one thing to do next,
    chosen for this moment (the partner's last line and what the trainee has
    already done in the conversation), with a rewrite of their own sentence.
    """
    by_skill = {i.skill: i for i in items}
    labels = {i.skill: i.label for i in items}
    reasons = {s: e.absent_reason for s, e in evidence.items()}
    focus: list[str] = []
    parts: list[str] = []
    praise = [s for s in _PRAISE_ORDER if labels.get(s) == "strong" and by_skill[s].evidence]
    if len(praise) > 1 and "appear-confident" in praise:
        praise.remove("appear-confident")  # plain and direct is worth saying only when nothing else stands out
    nxt = _next_skill(
        labels=labels, reasons=reasons, moment=moment, done_before=done_before, pushbacks=pushbacks, objection=objection
    )
    for skill in praise[: (1 if nxt else 2)]:
        focus.append(skill)
        parts.append(f"Good {names.get(skill, skill)}: \u201c{quote(text=by_skill[skill].evidence)}\u201d.")
    if nxt and nxt in by_skill:
        item = by_skill[nxt]
        focus.append(nxt)
        advice = item.suggestion.split(" Experts rate ")[0].strip()
        if not advice:
            advice = _MISSING_MOVE.get(nxt, "")
        parts.append(f"Next, {names.get(nxt, nxt)}: {advice}")
        if item.rewrite:
            parts.append(f"Try: \u201c{item.rewrite}\u201d")
    elif not parts:
        parts.append("Nothing to add here: keep going.")
    return " ".join(parts), focus
