"""Lexical cues of DEAR MAN skills.

With a dozen exemplars per skill, sentence embeddings alone confuse "is
about the same thing" with "does the skill". A few phrases carry the skill
itself ("I feel" for Express, "would you be willing" for Negotiate, hedges
against Appear confident); these become classifier features next to the
exemplar votes. Custom rubrics have no built-in cues and rely on exemplars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _rx(*phrases: str) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class SkillCues:
    positive: re.Pattern | None  # phrases that do the skill
    negative: re.Pattern | None  # phrases that undermine it (weak rather than absent)
    issue: str = ""  # what the negative cues mean, in plain words, for suggestions


_FEELINGS = (
    r"frustrated|worried|anxious|upset|hurt|angry|annoyed|stressed|overwhelmed|disappointed|concerned|"
    r"uncomfortable|sad|resentful|undervalued|unappreciated|exhausted|nervous|scared|afraid|embarrassed|"
    r"torn|stuck|anxious|let down|taken for granted|on edge|uneasy|tired|drained|guilty|lonely|ignored|"
    r"disrespected|unheard|invisible|pressured|burnt out|burned out"
)

DEAR_MAN_CUES: dict[str, SkillCues] = {
    "describe": SkillCues(
        positive=_rx(
            r"(?:for|over) the (?:last|past) \w+",
            r"since (?:january|february|march|april|may|june|july|august|september|october|november|december|last|the)",
            r"last (?:week|month|year|night|time|monday|tuesday|wednesday|thursday|friday|saturday|sunday)",
            r"(?:once|twice|three times|four times|\d+ times) (?:a|this|last|per)",
            r"on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?",
            r"yesterday|this morning|three|four|five|six|seven|eight|nine|ten|\d+",
        ),
        negative=_rx(
            r"always", r"never", r"lazy", r"ridiculous", r"unfair", r"selfish", r"rude", r"useless",
            r"you don'?t care", r"inconsiderate", r"typical", r"as usual", r"every single", r"disrespectful",
            r"clearly", r"obviously", r"pathetic", r"stupid",
        ),
        issue="judgements or absolutes instead of facts a camera would record",
    ),
    "express": SkillCues(
        positive=_rx(
            r"I (?:feel|felt|am feeling|'m feeling|have been feeling|'ve been feeling)",
            r"I(?:'m| am) (?:really |so |quite |getting |a bit |pretty |very )?(?:" + _FEELINGS + r")",
            r"(?:it|that|this) (?:makes|made|leaves|left) me (?:feel )?",
            r"I(?:'ve| have) been (?:really |so )?(?:" + _FEELINGS + r")",
            r"(?:it|that|this) (?:is|has been) (?:really )?(?:weighing on me|hard for me|stressful for me)",
            r"I(?:'m| am) starting to feel",
        ),
        negative=_rx(r"you make me", r"you made me", r"because of you", r"it'?s your fault", r"whatever"),
        issue="blaming the other person for the feeling instead of owning it",
    ),
    "assert": SkillCues(
        positive=_rx(
            r"I(?:'d| would) like", r"I need", r"I want", r"I(?:'m| am) asking", r"I(?:'d| would) ask",
            r"would you", r"could you", r"can you", r"will you", r"please", r"I(?:'m| am) requesting",
            r"my request is", r"what I(?:'m| am) asking", r"I(?:'m| am) going to need",
        ),
        negative=_rx(
            r"if (?:it'?s|that'?s) (?:not too much|okay|alright)", r"I was wondering", r"no pressure",
            r"only if you want", r"it'?s fine if not", r"don'?t worry if", r"I don'?t suppose",
        ),
        issue="the request is hidden behind softeners, so it is easy to say no to",
    ),
    "reinforce": SkillCues(
        positive=_rx(
            r"that would (?:really )?(?:help|mean|make)", r"I(?:'d| would) (?:really )?appreciate",
            r"it(?:'d| would) mean", r"that way", r"so that", r"which (?:would|will) (?:mean|help|let|give)",
            r"(?:you|we)(?:'d| would) (?:get|have|both)", r"(?:it|this) (?:will|would) (?:free|give|save|let|help)",
            r"in return", r"benefit", r"grateful", r"better for (?:both|us|you|the team)",
        ),
        negative=_rx(
            r"or else", r"otherwise I(?:'ll| will)", r"if you don'?t", r"I(?:'ll| will) (?:quit|leave|go)",
            r"you(?:'ll| will) regret", r"you owe me",
        ),
        issue="pressure or threats instead of what they gain by saying yes",
    ),
    "mindful": SkillCues(
        positive=_rx(
            r"coming back to", r"(?:back|return) to", r"as I said", r"I hear (?:you|that)", r"I understand(?:,| that| and| but)",
            r"still", r"even so", r"regardless", r"the point is", r"what I(?:'m| am) asking (?:for )?is",
            r"let'?s (?:stay|focus)", r"I(?:'d| would) like to stay", r"that may be true", r"I get that",
        ),
        negative=_rx(
            r"forget it", r"never ?mind", r"fine,? whatever", r"anyway,", r"while we(?:'re| are) at it",
            r"and another thing", r"speaking of", r"you always", r"that reminds me",
        ),
        issue="getting pulled off the point (dropping the request or opening other grievances)",
    ),
    "appear-confident": SkillCues(
        positive=_rx(
            r"I need", r"I(?:'m| am) asking", r"I(?:'d| would) like", r"I want", r"I expect", r"I(?:'m| am) confident",
            r"I(?:'ve| have) decided", r"my request is",
        ),
        negative=_rx(
            r"maybe", r"sort of", r"kind of", r"I guess", r"sorry", r"I(?:'m| am) sorry", r"just", r"um+", r"uh+",
            r"I don'?t know", r"probably", r"I was wondering", r"possibly", r"perhaps", r"if it'?s (?:okay|alright)",
            r"it'?s fine if not", r"I suppose", r"a little bit", r"hopefully", r"I hate to", r"does that make sense",
            r"if that'?s okay", r"not sure", r"or something", r"I mean",
        ),
        issue="hedges and apologies that signal you don't expect a yes",
    ),
    "negotiate": SkillCues(
        positive=_rx(
            r"what if", r"would you be willing", r"how about", r"could we", r"can we", r"what would work",
            r"alternatively", r"compromise", r"meet (?:you )?(?:halfway|in the middle)", r"in exchange",
            r"instead", r"would it help if", r"I(?:'d| would) be willing", r"I(?:'m| am) open to",
            r"what do you (?:suggest|think would work)", r"(?:one|another) option", r"we could", r"I could",
            r"trial", r"for a month", r"for now",
        ),
        negative=_rx(r"take it or leave it", r"non-?negotiable", r"that'?s final", r"no other way", r"my way"),
        issue="a fixed position with no room for the other person",
    ),
}


def skill_cues(*, skill: str) -> SkillCues:
    return DEAR_MAN_CUES.get(skill, SkillCues(positive=None, negative=None))


def cue_matches(*, text: str, skill: str) -> tuple[list[str], list[str]]:
    """(positive phrases, negative phrases) of ``skill`` found in ``text``."""
    cues = skill_cues(skill=skill)
    positive = [m.group(0) for m in cues.positive.finditer(text)] if cues.positive else []
    negative = [m.group(0) for m in cues.negative.finditer(text)] if cues.negative else []
    return positive, negative
