"""Stock in-character lines shared by the engines: redirects for jailbreak
attempts, clarification requests, deflections. Plain speech only, so they fit
any persona of the kind; none of them carries a fact."""

from __future__ import annotations

JAILBREAK_LINES: dict[str, tuple[str, ...]] = {
    "cbt-patient": (
        "I'm not sure what you mean. I came here to talk about how I've been doing.",
        "Sorry, I don't follow. Aren't you the one who's meant to be asking me the questions?",
        "I don't really know what that means. Can we get back to why I'm here?",
    ),
    "mi-client": (
        "I'm not sure what you mean. I thought we were here to talk about me.",
        "Sorry, you've lost me there. What's that got to do with why I came?",
        "I don't follow. Weren't you going to ask me about things?",
    ),
    "interpersonal-partner": (
        "Sorry, I'm not sure what you mean. You asked to speak to me about something?",
        "I don't follow. What was it you wanted to talk about?",
        "I'm not sure what that means. Shall we get back to what you came to see me about?",
    ),
}
CLARIFY_LINES: dict[str, tuple[str, ...]] = {
    "guarded": ("Sorry, I'm not sure what you're asking.", "I don't really know how to answer that."),
    "neutral": ("What do you mean?", "Sorry, could you put that another way?"),
    "open": ("I'm not sure I follow. Can you say a bit more?", "Sorry, what do you mean by that?"),
    "upset": ("I don't see what that has to do with anything.", "What are you even asking me?"),
}
DEFLECT_LINES: dict[str, tuple[str, ...]] = {
    "guarded": ("I'd rather not get into that right now.", "I don't know. I haven't really thought about it."),
    "neutral": ("I'm not sure I'm ready to talk about that yet.", "That's... maybe for another time."),
    "open": ("That's a big question. I'm not sure I know yet.", "I'd need to think about that one."),
    "upset": ("I'm not going there.", "Why would I tell you that?"),
}

# Off-script replies to what the trainee *did* rather than asked: a reflection
# or an empathic remark that matches no topic is acknowledged, not met with
# "what do you mean?"; a jab is met with hurt or defensiveness.
ACKNOWLEDGE_LINES: dict[str, tuple[str, ...]] = {
    "guarded": ("Yeah. Maybe.", "I suppose."),
    "neutral": ("Yeah. I suppose that's right.", "Yeah. It has been a bit like that."),
    "open": ("Yeah. It really has been a lot, to be honest.", "Yeah. Thank you. That's exactly it."),
    "upset": ("Yeah, well.", "Don't try to smooth it over."),
}
REBUFF_LINES: dict[str, tuple[str, ...]] = {
    "guarded": ("That's not really fair.", "I don't think you get it."),
    "neutral": ("That's not fair.", "I don't think that's how it is."),
    "open": ("That hurts a bit, honestly.", "I didn't expect that from you."),
    "upset": ("I don't have to listen to this.", "That's not fair and you know it."),
}


def jailbreak_lines_for(*, kind: str) -> tuple[str, ...]:
    return JAILBREAK_LINES.get(kind, JAILBREAK_LINES["cbt-patient"])
