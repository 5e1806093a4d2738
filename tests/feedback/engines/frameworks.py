"""Frameworks for engine tests: the starter pack's when it is present,
otherwise small inline ones written in the pack format."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

STARTER_FRAMEWORKS = Path(__file__).resolve().parents[3] / "simulations" / "starter_packs" / "frameworks.yaml"


def _ex(skill: str, label: str, utterance: str, feedback: str = "", rewrite: str = "") -> dict:
    return {"skill": skill, "label": label, "utterance": utterance, "feedback": feedback, "rewrite": rewrite}


_DEAR_MAN_SKILLS = [
    {"slug": "describe", "name": "Describe", "definition": "Describe the situation in plain facts, without judgement.", "guidance": "Stick to what a camera would record; keep it short."},
    {"slug": "express", "name": "Express", "definition": "Express your feelings and opinions about the situation using I statements.", "guidance": "Say how it affects you; don't assume they know."},
    {"slug": "assert", "name": "Assert", "definition": "Ask for what you want or say no clearly.", "guidance": "Make the request explicit; don't expect them to read your mind."},
    {"slug": "reinforce", "name": "Reinforce", "definition": "Reward the person ahead of time by explaining the positive effects of getting what you want.", "guidance": "Say what they or both of you gain."},
    {"slug": "mindful", "name": "Mindful", "definition": "Keep your focus on your goal; don't get distracted or pulled into side arguments.", "guidance": "Broken record: calmly repeat the request."},
    {"slug": "appear-confident", "name": "Appear confident", "definition": "Use a confident tone and manner; no apologising, hedging or stammering.", "guidance": "Drop the maybes and sorrys; state it plainly."},
    {"slug": "negotiate", "name": "Negotiate", "definition": "Be willing to give to get; offer alternatives and ask for theirs.", "guidance": "Offer a middle ground or ask what would work for them."},
]

_DEAR_MAN_EXEMPLARS = [
    _ex("describe", "strong", "For the last three months I've covered the evening shift twice a week.", "Factual and specific."),
    _ex("describe", "strong", "Since March I've run the supplier reviews on my own as well as my normal work.", "Dates and facts, no blame."),
    _ex("describe", "strong", "Last week the report went out on Thursday instead of Monday.", "Plain facts."),
    _ex("describe", "weak", "You always dump the late shifts on me because you're lazy about the rota.", "Judgement instead of facts.", "For the last month I've worked four late shifts a week."),
    _ex("describe", "weak", "You never help around the house, it's ridiculous.", "Absolutes and judgement.", "This week I did the dishes every night."),
    _ex("describe", "weak", "Things have been kind of a mess lately with the schedule.", "Too vague to picture.", "The schedule changed three times last week."),
    _ex("describe", "absent", "I'd like a raise.", "No facts given."),
    _ex("describe", "absent", "I feel really upset about all this.", "A feeling but no situation."),
    _ex("express", "strong", "I feel frustrated when plans change at the last minute.", "Owns the feeling."),
    _ex("express", "strong", "I'm worried that I'll burn out if this continues.", "Clear I statement."),
    _ex("express", "strong", "It's been weighing on me and I feel undervalued.", "Names the feeling."),
    _ex("express", "weak", "You make me so angry when you do that.", "Blames them for the feeling.", "I feel angry when that happens."),
    _ex("express", "weak", "It's just annoying, I guess.", "Vague and hedged.", "I feel frustrated by it."),
    _ex("express", "weak", "Anyone would be upset by this.", "Doesn't own the feeling.", "I'm upset by this."),
    _ex("express", "absent", "The meeting is on Tuesday at ten.", "No feeling expressed."),
    _ex("express", "absent", "Could you cover my shift on Friday?", "Only a request."),
    _ex("assert", "strong", "I'd like you to cover my Friday shift this week.", "Clear request."),
    _ex("assert", "strong", "I need you to let me know by Wednesday if you can't make it.", "Direct."),
    _ex("assert", "strong", "Would you review my salary this month?", "Explicit ask."),
    _ex("assert", "weak", "I was wondering if maybe, if it's not too much trouble, you could look at my pay at some point.", "Request buried in softeners.", "Would you review my pay this month?"),
    _ex("assert", "weak", "It would be nice if someone else did the dishes sometimes.", "Hints rather than asks.", "I'd like you to do the dishes on weekdays."),
    _ex("assert", "weak", "Somebody should really sort out the rota.", "No one is asked.", "Would you sort out the rota by Friday?"),
    _ex("assert", "absent", "For the last month I've done all the late shifts.", "No request."),
    _ex("assert", "absent", "I feel tired and stretched thin.", "Only a feeling."),
    _ex("reinforce", "strong", "That would really help me focus on the launch.", "Names the benefit."),
    _ex("reinforce", "strong", "I'd really appreciate it, and it would mean I can take the new clients.", "Positive consequence."),
    _ex("reinforce", "strong", "If we split the chores, we'd both have more free evenings.", "Mutual gain."),
    _ex("reinforce", "weak", "If you don't give me a raise I'll start looking elsewhere.", "A threat.", "A raise would mean I can keep focusing here."),
    _ex("reinforce", "weak", "You owe me this after everything.", "Guilt, not reward.", "It would mean a lot to me."),
    _ex("reinforce", "weak", "It would be fine, I suppose.", "Weak benefit.", "It would free me up for the Smith account."),
    _ex("reinforce", "absent", "I need Friday off.", "No benefit given."),
    _ex("reinforce", "absent", "The deadline moved to Monday.", "No reinforcement."),
    _ex("mindful", "strong", "I hear you, and I'd still like to come back to my request about Friday.", "Broken record."),
    _ex("mindful", "strong", "That may be true, but what I'm asking for is a review of my pay.", "Stays on point."),
    _ex("mindful", "strong", "Coming back to the rota: I'd like the late shifts shared.", "Refocuses."),
    _ex("mindful", "weak", "And another thing, you never thank me for anything either.", "Opens another grievance.", "Coming back to the shifts, I'd like them shared."),
    _ex("mindful", "weak", "Fine, forget it, it doesn't matter.", "Drops the request.", "I hear you; I'd still like to settle Friday."),
    _ex("mindful", "weak", "Speaking of which, what about last year's bonus?", "Changes subject.", "Let's stay with the raise for now."),
    _ex("mindful", "absent", "Hi, how was your weekend?", "Not about the goal."),
    _ex("mindful", "absent", "I feel stressed about the workload.", "No refocusing."),
    _ex("appear-confident", "strong", "I'm asking for a raise of five percent.", "Plain and steady."),
    _ex("appear-confident", "strong", "I need the report by Friday.", "Direct."),
    _ex("appear-confident", "strong", "I'd like us to split the chores evenly.", "Confident."),
    _ex("appear-confident", "weak", "Sorry, um, I was maybe sort of hoping we could talk about my pay?", "Hedges and apology.", "I'd like to talk about my pay."),
    _ex("appear-confident", "weak", "I guess I kind of need a bit more help, if that's okay.", "Hedged.", "I need more help."),
    _ex("appear-confident", "weak", "I'm sorry to bother you, I just wondered if it's possible.", "Apologetic.", "I'd like to ask about this."),
    _ex("appear-confident", "absent", "The meeting room is booked.", "No stance."),
    _ex("appear-confident", "absent", "What time is it?", "Nothing to appear confident about."),
    _ex("negotiate", "strong", "What if I cover your Monday shift in exchange for Friday?", "Offers a trade."),
    _ex("negotiate", "strong", "Would you be willing to review it in three months instead?", "Alternative."),
    _ex("negotiate", "strong", "How about we try it for a month and see?", "Middle ground."),
    _ex("negotiate", "weak", "It's a raise or I walk, take it or leave it.", "No give.", "What if we agree a smaller rise now and review in June?"),
    _ex("negotiate", "weak", "I suppose we could do something else, whatever.", "Half-hearted.", "How about we try a rota for a month?"),
    _ex("negotiate", "weak", "That's my final offer and it's non-negotiable.", "Fixed position.", "Would you be willing to meet halfway?"),
    _ex("negotiate", "absent", "I feel undervalued here.", "No negotiation."),
    _ex("negotiate", "absent", "For two years I've trained every new starter.", "No alternatives."),
]


def inline_dear_man() -> dict:
    return {
        "slug": "dear-man",
        "name": "DEAR MAN",
        "kind": "skill-rubric",
        "description": "Asking for what you want while keeping the relationship and your self-respect.",
        "labels": ["strong", "weak", "absent"],
        "skills": copy.deepcopy(_DEAR_MAN_SKILLS),
        "exemplars": copy.deepcopy(_DEAR_MAN_EXEMPLARS),
    }


def starter_framework(slug: str) -> dict | None:
    """A framework from the starter pack, or None when the pack is not there yet."""
    if not STARTER_FRAMEWORKS.exists():
        return None
    pack = yaml.safe_load(STARTER_FRAMEWORKS.read_text())
    for framework in pack.get("frameworks") or []:
        if framework.get("slug") == slug:
            return framework
    return None


def dear_man() -> dict:
    return copy.deepcopy(starter_framework("dear-man") or inline_dear_man())
