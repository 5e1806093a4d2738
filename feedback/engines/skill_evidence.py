"""Specific evidence for each DEAR MAN skill, read from the utterance and its context.

Most skills are absent from most utterances, so the offline assessor reports
a skill only when it finds what the skill's written definition asks for (the
`levels` of the starter framework):

- Describe: a checkable fact of the situation (a date, time, count, amount,
  or a reported event) outside the request itself; judgements, absolutes and
  mind-reading make it weak.
- Express: a feeling or owned opinion in the first person ("I'm worried",
  "it matters to me"); blame ("you make me"), judgements dressed as
  feelings ("I feel like you...") and hedged feelings are weak.
- Assert: an act of asking ("I'd like", "could you", "I need you to") or of
  refusing ("no, I can't take that on"); hints and softened asks are weak.
- Reinforce: what the other person gains, a promise in return, or thanks
  once they have agreed; favours to oneself, threats and guilt are weak.
- Mindful: only after the partner deflects, objects or attacks: coming back
  to the request (or to the problem, with an offer) is strong; being pulled
  into the argument on the way is weak; dropping it is absent.
- Appear confident: a plain statement of one's position is strong; hedges,
  apologies, fillers or insults make it weak; backing down, or saying
  nothing of substance, is absent.
- Negotiate: an alternative, a trade, a smaller step or a question about
  what would work; giving the request away or "take it or leave it" is weak.

Every evidence string is an exact substring of the utterance, so what is
quoted back to a trainee is always their own words. Pure functions: no
model, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from feedback.engines.text_spans import sentence_spans

DEAR_MAN_SKILLS = ("describe", "express", "assert", "reinforce", "mindful", "appear-confident", "negotiate")


def _rx(*parts: str) -> re.Pattern:
    return re.compile(r"(?:" + "|".join(parts) + r")", re.IGNORECASE)


@dataclass
class Evidence:
    present: list[str] = field(default_factory=list)  # words that do the skill
    weak: list[str] = field(default_factory=list)  # words that undermine it
    absent_reason: str = ""  # why it is absent even though something matched (a collapse, no diversion)

    @property
    def found(self) -> bool:
        return bool(self.present or self.weak)


# -- context -------------------------------------------------------------

_OPENING = _rx(
    r"how can I help", r"what can I do for you", r"what'?s up", r"what is it\b", r"did you (?:need|want)",
    r"you wanted", r"got a (?:sec|second|minute)", r"\bcome in\b", r"what'?s on your mind", r"how'?s (?:things|it going)",
    r"you (?:okay|alright|ok)\??$", r"next,? please", r"what did you want", r"what'?s wrong", r"can I help",
    r"what'?s (?:with the face|going on)", r"^(?:hi|hello|hey|yeah|yes)\b[^.?!]{0,30}[.?!]?$", r"you sounded",
    r"look(?:ing)? (?:a bit )?(?:tense|worried|upset|serious)", r"what are you after", r"want to say something",
    r"here'?s your (?:invoice|bill)", r"I'?ve brought you", r"we'?d love you to", r"can I ask what",
    r"(?:^|[.!?]\s+)(?:so,? |oh,? |hey,? )?(?:can|could|would|will) you\b[^?.!]*\?", r"\byou'?ll \w+[^?]*,? (?:yes|right|yeah)\?$",
    r"^(?:are you (?:coming|free|okay|alright)|have you (?:seen|got|heard)|did you (?:get|see|hear)|how was|how'?s the|what did you think)\b",
    r"^is (?:everything|something|anything) (?:okay|alright|ok|wrong|up)\b", r"what'?s this about", r"what do you want(?: me to do)?\?$",
    r"^you seem\b", r"can I get you", r"^(?:so,? )?what (?:do|did) you (?:want|need)\b",
)
PARTNER_REQUEST = _rx(r"(?:^|[.!?]\s+)(?:so,? |oh,? |hey,? )?(?:can|could|would|will) you\b[^?.!]*\?", r"\byou'?ll \w+[^?]*,? (?:yes|right|yeah)\?$",
                      r"\bwe'?d (?:love|like) you to\b", r"\bI need you to\b")
_STALLING = _rx(r"\bwhen I can\b", r"\bthink about it\b", r"\blater\b", r"\bat some point\b", r"\b(?:I'?ll|we'?ll) see\b",
                r"\bnot (?:now|today|right now)\b", r"\bI'?m busy\b")
_AGREEMENT = _rx(
    r"^(?:okay|ok|alright|all right|fine|sure|yes|yeah|right|you'?re right|fair enough|understood|that'?s fair)\b[^?]*"
    r"\b(?:I'?ll|I will|I can|we can|let'?s|I'?ve|I have|no problem|deal)\b",
    r"\bI'?ll (?:do|ring|call|text|mention|transfer|pay|stop|give|sort|knock|take|move|turn|send|credit|put)\b",
    r"\bI(?:'?ve| have) (?:found|booked|put|arranged|sorted)\b", r"\bI can (?:give|do|offer|manage|knock)\b",
    r"\bthanks for being honest\b", r"\bI understand\b", r"^(?:deal|agreed|done)\b",
)


# A partner line that resists a request: a refusal, a why, a condition, a counter-charge.
OBJECTION = _rx(
    r"\bno\b", r"\bnot\b", r"n'?t\b", r"\bwhy\b", r"\bbut\b", r"\bbudget\b", r"\bafraid\b", r"\bhave to\b",
    r"\bneed to\b", r"\bonly\b", r"\balways\b", r"\bnever\b", r"\bwhat about\b", r"\bso now\b", r"\bsensitive\b",
    r"\bteam player\b", r"\bsomeone has to\b", r"\blater\b", r"\bthink about it\b", r"\bwhen I can\b",
    r"\bfully booked\b", r"\bstandard\b", r"\beveryone\b", r"\bnobody\b", r"\bdepend\b", r"\bshame\b",
)


def partner_line(*, context: list[dict] | None) -> str:
    """The partner's line the utterance answers ("" when the trainee speaks first)."""
    for turn in reversed(context or []):
        if turn.get("after"):
            continue
        if str(turn.get("speaker", "")).lower() == "trainee":
            return ""  # the trainee spoke last: nothing new from the partner
        text = str(turn.get("text", "")).strip()
        if text:
            return text
    return ""


def trainee_earlier(*, context: list[dict] | None) -> list[str]:
    return [str(t.get("text", "")) for t in context or [] if not t.get("after") and str(t.get("speaker", "")).lower() == "trainee"]


def partner_moment(*, context: list[dict] | None) -> str:
    """"opening" (an invitation or no partner line), "agreement", or "pushback" (an objection, a deflection, an attack)."""
    return line_moment(line=partner_line(context=context))


@lru_cache(maxsize=2048)
def line_moment(*, line: str) -> str:
    """The moment a partner's line creates (cached: every later turn of a session reads it again)."""
    if not line:
        return "opening"
    if _STALLING.search(line):
        return "pushback"
    if _AGREEMENT.search(line) and not re.search(r"\bbut\b|\bcan'?t\b|\bnot\b", line, re.IGNORECASE):
        return "agreement"
    if _OPENING.search(line) and len(line.split()) <= 20:
        return "opening"
    if len(line.split()) <= 5 and not re.search(r"\b(?:no|not|can'?t|won'?t|why|but|who|so)\b", line, re.IGNORECASE):
        return "opening"  # "Yeah? Oh. Hi.": a greeting, not an objection
    return "pushback"


# -- shared cues -----------------------------------------------------------

COLLAPSE = _rx(
    r"\bforget (?:it|I asked|I mentioned|I said|about it)\b", r"\bnever ?mind\b", r"\bignore me\b", r"\bokay,? (?:fine,? )?I'?ll do it\b",
    r"\bI'?ll just (?:pay|keep|hand|do|leave|sort|go|wait|put up|take)\b", r"\b(?:come|pay|play it) (?:whenever|as loud as) you\b",
    r"\bwhenever you (?:can|like|want)\b", r"\bwhatever you think\b", r"\bif you think so\b",
    r"\byou'?re right,? (?:sorry|I'?m|I was|it'?s)\b", r"\bsorry,? you'?re right\b",
    r"\bI'?m (?:probably |just )?(?:being (?:silly|petty|ungrateful|unreasonable|daft)|overreacting)\b",
    r"\bI suppose I could\b", r"\bmaybe I could (?:just )?try\b", r"\bthen,? I suppose\b", r"\bit'?s nothing\b",
    r"\bno worries,? (?:it'?s|honestly|really)\b", r"\bit'?s (?:totally |all |really )?fine,? (?:honestly|really|don'?t worry)\b",
    r"\bI'?ll do (?:it|them|that) myself\b", r"\bI'?ll keep doing it\b", r"\bI'?ll leave it\b", r"\bdon'?t worry about it\b",
    r"\b(?:it|that)'?s fine\.?$",
)
FEELINGS_HEDGE_SAFE = r"anxious|worried|nervous|upset|annoyed|frustrated|stressed|taken for granted|hurt|sad|uneasy|embarrassed|tired"
HEDGES = _rx(
    r"\bsorry\b", r"\bmaybe\b(?! (?:so|not|they are|it is|you are|that'?s (?:true|right|fair))\b)", r"\bperhaps\b", r"\bpossibly\b", r"\bsort of\b", r"\bkind of\b(?! you)", r"\bI guess\b",
    r"\bI suppose\b", r"\bI don'?t (?:really )?know\b", r"\bprobably\b", r"\bum+\b", r"\buh+\b", r"\ber+\b", r"\berm\b",
    r"\bI was (?:just )?(?:sort of )?wondering\b", r"\bif (?:that'?s|it'?s) (?:okay|alright|ok)\b", r"\bif it'?s not too much\b",
    r"\bnot too much (?:trouble|bother)\b", r"\bno rush\b", r"\bno pressure\b", r"\bI mean,", r"\byou know[,?.]", r"\blike,",
    r"\ba (?:tiny |little )bit\b", rf"\ba bit\b(?! (?:of|more|less|{FEELINGS_HEDGE_SAFE}))", r"\ba little\b(?! (?:more|less|longer))", r"\bnot (?:really )?sure\b", r"\bhopefully\b",
    r"\bonly if\b", r"\bdoes that make sense\b", r"\bor something\b", r"\bif you get a chance\b", r"\bI hate to\b",
    r"\.\.\.|\u2026", r"\bI'?m (?:probably )?wrong\b", r"\bfeel free to say no\b", r"\bmight possibly\b",
)
HOSTILE = _rx(
    r"\?!|!\?", r"\b(?:joke|ridiculous|outrageous|robbery|shambles|pathetic|useless|lazy|selfish|rude|stupid|manipulative|"
    r"disgusting|idiot|rubbish|hopeless|typical)\b", r"\bare you deaf\b", r"\byou lot\b", r"\byou people\b", r"\bpoor you\b",
    r"\bhere we go\b", r"\bhardly my problem\b", r"\bunbelievable\b", r"\bfunny how\b", r"\bgood to know\b",
    r"\bexcuse me\?", r"\bsays the\b", r"\bworst\b", r"\bhow dare\b", r"\bwhatever\.", r"\bguilt-?trip", r"\bsome of us\b", r"\bdo you think I\b", r"\bname one\b",
    r"\bbroken record\b", r"\bdon'?t (?:you )?dare\b", r"\bshut up\b", r"\bfor god'?s sake\b", r"\bseriously\?",
)
SHOUTING = re.compile(r"\b(?!I\b)[A-Z]{4,}\b")  # words in capitals (case-sensitive)
JUDGEMENT = _rx(
    r"\balways\b", r"\bnever\b(?! ?mind)", r"\bevery single\b", r"\ball the time\b", r"\bfor ages\b", r"\beveryone knows\b",
    r"\bnobody (?:ever|seems|cares)\b", r"\b(?:you|he|she|they)(?:'re| are) (?:so |just |being |clearly )*(?:lazy|selfish|rude|"
    r"useless|inconsiderate|hopeless|impossible|unreasonable|ridiculous|unfair|unbelievable)\b", r"\bunbelievable\b", r"\bworst\b", r"\bobviously\b", r"\bclearly\b", r"\bas usual\b",
    r"\blike always\b", r"\btypical\b", r"\bbasically\b", r"\bjoke\b", r"\bshambles\b", r"\brobbery\b", r"\boutrageous\b",
    r"\brubbish\b", r"\bdisaster\b", r"\babandoned\b", r"\byou don'?t (?:even )?care\b", r"\bbarging\b", r"\bnightmare\b",
    r"\bdid nothing\b", r"\bmanipulative\b", r"\btrying to (?:rip|trap|get rid|con)\b", r"\bremember when\b",
    r"\bthe way you\b", r"\bfunnily enough\b", r"\bshocking\b", r"\ba hundred times\b",
)


def _spans(pattern: re.Pattern, text: str) -> list[str]:
    return [m.group(0) for m in pattern.finditer(text) if m.group(0).strip()]


def _clauses(text: str) -> list[str]:
    out: list[str] = []
    for sentence in sentence_spans(text=text):
        out.extend(p.strip() for p in re.split(r",\s+|;\s+|\s+(?:but|and|so)\s+", sentence) if p.strip())
    return out


def _sentence_of(text: str, fragment: str) -> str:
    for sentence in sentence_spans(text=text):
        if fragment in sentence:
            return sentence
    return fragment


# -- Assert ------------------------------------------------------------------

REQUEST = _rx(
    r"\bI(?:'d| would)(?: still| really| just)? (?:like|love)(?! to (?:think|know|say|talk|check|see|hear))\b",
    r"\bI(?:'m| am)(?: still| just)? (?:asking|requesting)\b", r"\bI (?:(?:still|really|just|do|maybe|kind of|sort of|probably|actually) )*need (?:you|to be|a|an|the|it|my|this|that|him|her|them|some|your)\b",
    r"\bI want (?:you|to|a|an|it|the|my|out|this|that|them)\b", r"\bI(?:'m| am) going to need\b",
    r"(?<!what )(?<!how )(?<!where )\b(?:could|can|would|will) you(?! (?:be willing to consider|rather|believe|imagine|think|say|fancy|want|like a))\b(?=\s+\w)",
    r"\b(?:could|can) (?:we|he|she|they|someone|\w+) (?:take|do|cover|pay|send|come|look at|fix|sort|agree|have)\b",
    r"(?:^|[.!?]\s+)(?:just |please |now )(?:turn|stop|take|pay|give|call|text|send|tell|bring|credit|put)\b",
    r"\bplease\b", r"\bmy request is\b", r"\b(?:could|can|may) I (?!think|check|ask what|just)(?:have|get|hand|pay|go|take|leave|book|see|speak|swap|come)\b",
    r"\b(?:he|she|it|they|this|that) needs? to be (?:seen|done|fixed|sorted|paid|looked at|repaired)\b",
    r"(?:^|[.!?]\s+)(?:Stop|Take|Pay|Give|Call|Ring|Text|Send|Turn|Tell|Bring|Cancel|Credit|Refund|Fix|Return|Put) \w+",
    r"\bit'?s (?:still )?time to cancel\b", r"\bI'?d still like\b", r"\bI'?m asking for\b",
)
REFUSAL = _rx(
    r"(?:^|[.!?,]\s*)(?:absolutely not|not this time|definitely not)(?:[,.!]|$)", r"\bbut no\b", r"\bthanks,? but no\b",
    r"\bI(?:'m| am) (?:still )?not (?:hosting|doing|taking|paying|coming|chairing|covering|lending|going to|working)\b",
    r"\bI (?:can'?t|cannot|won'?t|will not) (?:take|do|chair|lend|cover|host|commit|give|work|stay|come|manage|make it|help|"
    r"run|agree|accept|keep|be the)\b",
    r"\bI(?:'m| am) not (?:able|going|willing|available) to\b", r"\bmy answer is (?:still )?no\b", r"\b(?:still )?saying no\b",
    r"\bI(?:'ll| will) have to (?:say no|decline)\b", r"\bI(?:'m| am) (?:going to )?(?:declin|turn)(?:e|ing) (?:it|this|that)?\b",
    r"\bI need a (?:year|break|month|week) off\b",
)
SOFT_ASK = _rx(
    r"\bI was (?:just )?(?:sort of )?wondering\b", r"\bmaybe you could\b", r"\bif you get a chance\b", r"\bno rush\b",
    r"\bno pressure\b", r"\bonly if you\b", r"\bif it'?s not too much\b", r"\bit'?d be nice if\b", r"\bwould it be possible\b",
    r"\bany chance\b", r"\bI don'?t suppose\b", r"\bI'?ll see\b", r"\blet me (?:check|think)\b", r"\bget back to you\b",
    r"\bcan I think about it\b", r"\bif you remember\b", r"\bmight possibly\b", r"\bif you(?:'ve| have) got time\b",
    r"\bis that,? like,? a thing\b", r"\bcould maybe\b",
)
THREAT = _rx(
    r"\bor (?:else|I'?m|I will|I'?ll)\b", r"\band I'?m (?:leaving|going to|reporting|taking)\b", r"\botherwise I(?:'ll| will)\b",
    r"\bone-star review\b", r"\bI'?ll (?:report|go elsewhere|find someone else|quit|leave)\b", r"\byou'?ll regret\b",
    r"\bif (?:you don'?t|it doesn'?t happen|not)\b[^.?!]{0,40}\bI'?ll\b", r"\blooking elsewhere\b",
)
HINT_ABOUT_WANT = _rx(r"\b(?:thinking|wondering) about (?:maybe )?(?:not )?\w+ing\b", r"\byou could (?:maybe )?pop\b")


_BARE_NO = re.compile(r"^(?:no|nope)\b[,.!]?", re.IGNORECASE)


_HEDGED_ASK = _rx(r"\bmaybe\b", r"\bI guess\b", r"\bsort of\b", r"\bkind of\b", r"\bpossibly\b", r"\bperhaps\b",
                  r"\bif (?:that'?s|it'?s) (?:okay|alright|ok)\b", r"\bjust wondering\b")


def earlier_request(*, context: list[dict] | None) -> str:
    """The trainee's last sentence in the conversation that asked for something or said no ("" if none)."""
    for text in reversed(trainee_earlier(context=context)):
        for sentence in reversed(sentence_spans(text=" ".join(text.split()))):
            if (REQUEST.search(sentence) or REFUSAL.search(sentence)) and not COLLAPSE.search(sentence):
                return sentence
    return ""


def assert_evidence(*, text: str, context: list[dict] | None) -> Evidence:
    present = _spans(REQUEST, text) + _spans(REFUSAL, text)
    if _BARE_NO.match(text) and PARTNER_REQUEST.search(partner_line(context=context)):
        present.insert(0, _BARE_NO.match(text).group(0))  # "No." to a request is a refusal
    weak = _spans(SOFT_ASK, text) + (_spans(THREAT, text) if present or _spans(REQUEST, text) else [])
    for cue in present:
        weak += _spans(_HEDGED_ASK, _sentence_of(text, cue))  # a hedged ask is a request undercut
    if not present and _spans(HINT_ABOUT_WANT, text):
        weak += _spans(HINT_ABOUT_WANT, text)
    if COLLAPSE.search(text) and not re.search(r"\bI(?:'d| would) (?:still )?like\b|\bI need\b", text, re.IGNORECASE):
        return Evidence(absent_reason="the request is dropped")
    return Evidence(present=present, weak=weak)


# -- Describe ----------------------------------------------------------------

_NUMBER = (
    r"\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred|thousand|half|twice|once"
)
_DAY = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_MONTH = r"january|february|march|april|june|july|august|september|october|november|december"
FACT_TIME = _rx(
    rf"\b(?:since|on|last|this|every|by|until|till|from|in) (?:the )?(?:{_DAY}|{_MONTH}|week|month|year|night|morning|weekend|term|"
    r"first|second|third|fourth|fifth|ninth|tenth|twentieth|\w+-(?:first|second|third|\w+th))s?\b",
    r"\byesterday\b", r"\blast (?:week|month|year|night|time|friday|\w+day)\b", r"\b(?:an|one|two|three|\d+) (?:hours?|minutes?|days?|weeks?|months?|years?) (?:ago|late|away)\b",
    r"\bthe (?:first|second|third|ninth|tenth|\w+-(?:first|second|third|\w+th)|\d+(?:st|nd|rd|th))\b",
    rf"\b(?:{_NUMBER})(?:[- ](?:{_NUMBER}))* (?:times|pounds|quid|euros|dollars|hours|minutes|days|weeks|months|years|nights|people|"
    r"miles|evenings|weekends|sessions|calls|emails|messages)\b",
    r"\b(?:twice|three times|four times|five times|\d+ times)\b", r"\b\d{1,2}[:.]\d{2}\b", r"\b\d+(?:am|pm)\b",
    r"\b(?:half past|quarter (?:past|to)|twenty to|ten past|o'?clock)\b", r"\bfor (?:about |over |nearly )?(?:an? |\w+ )(?:hours?|weeks?|months?|years?|minutes?)\b",
    r"\bthe quote\b", r"\bthe (?:invoice|bill|receipt|contract) (?:says|said|was)\b", r"[\u00a3$\u20ac]\s?\d+",
)
EVENT = _rx(
    r"\bis being \w+ed\b",
    r"\b(?:I|you|he|she|it|they|we|Dad|Mum|(?:the|my|your|our|his|her|their) \w+)(?:'ve| have| has|'s| had)? (?:already |just |never |still |also )?(?:\w+ed|rang|went|came|left|took|gave|said|told|bought|"
    r"paid|lent|wrote|built|made|did|got|found|sent|started|moved|ran|brought|cancelled|forgot|broke|lost|missed|fell|chaired|been)\b"
    r"(?! (?:to (?:think|ask|know)|that you))",
    r"\b(?:he'?s|she'?s|it'?s|I'?m|I am|he is|she is) (?:seventy|eighty|ninety|sixty|\d+)\b", r"\b(?:lives|works) (?:on his own|on her own|alone|nights|full time)\b",
    r"\bhasn'?t (?:come|arrived|been|changed)\b", r"\bhaven'?t (?:been|had|seen|heard)\b", r"\bwas (?:due|cancelled|given|left)\b",
    r"\bI(?:'m| am) a (?:member|bridesmaid|tenant|student)\b", r"\bit started\b", r"\bnobody (?:rang|called|told|mentioned)\b",
    r"\bthe (?:model|slides|report|bins?|essay|rent) (?:and the \w+ )?(?:were|was|are|is|go|goes) (?:mine|due|out|late|left)\b",
    r"\bstarted (?:a|snapping|working)\b", r"\bfull[- ]time\b",
)
_EVENT_NOT = _rx(r"^I (?:felt|was (?:just )?wondering|got (?:it|that)|started to feel)\b", r"\bI(?:'ve| have) been (?:feeling|thinking)\b")


_FINITE = _rx(r"\b(?:is|are|was|were|been|has|have|had|did|does|do|says|said|lives|works|goes|takes)\b", r"'(?:s|ve|d|re)\b", r"\b\w+ed\b")


def describe_evidence(*, text: str, context: list[dict] | None) -> Evidence:
    present: list[str] = []
    if COLLAPSE.search(text):
        return Evidence(weak=_spans(JUDGEMENT, text))
    for sentence in sentence_spans(text=text):
        if sentence.rstrip().endswith("?"):
            continue  # a question asks about the situation rather than setting it out
        asks = bool(REQUEST.search(sentence) or OFFER.search(sentence) or REFUSAL.search(sentence))
        for clause in _clauses(sentence):
            if asks and not re.match(r"(?:since|because|as|when)\b", clause, re.IGNORECASE):
                continue  # a date inside the ask ("by Friday") describes the request, not the situation
            if re.match(r"(?:if|what if|how about|could we|would you)\b", clause, re.IGNORECASE):
                continue
            found = _spans(FACT_TIME, clause) if _FINITE.search(clause) else []
            events = [e for e in _spans(EVENT, clause) if not _EVENT_NOT.search(clause)]
            if found or events:
                present.append(clause)
    weak = _spans(JUDGEMENT, text)
    return Evidence(present=present, weak=weak)


# -- Express -----------------------------------------------------------------

FEELINGS = (
    r"worried|anxious|upset|hurt|frustrated|annoyed|angry|cross|furious|stressed|overwhelmed|disappointed|embarrassed|"
    r"undermined|exhausted|panicking|panicked|scared|frightened|sad|glad|happy|pleased|relieved|uncomfortable|uneasy|"
    r"on edge|misled|guilty|lonely|ignored|unheard|invisible|taken for granted|let down|nervous|worn out|drained|tired|afraid (?:of|that|to|for)|"
    r"flattered|proud|touched|torn|stuck|hopeful|excited|fed up|resentful|confused|humiliated|stupid|awful|terrible|"
    r"gutted|devastated|heartbroken|unappreciated|undervalued|disrespected|hurt|bothered|rattled|shaken|ashamed|jealous|"
    r"insecure|trapped|burnt out|burned out|at the end of my tether|running on empty|miserable|lost|helpless|out of my depth|"
    r"uncomfortable|unsettled|dreading|dread|grateful|thankful|delighted|thrilled|fuming|livid|sick of|tired of"
)
_INTENS = r"(?:(?:really|so|very|pretty|quite|honestly|genuinely|getting|a bit|a little|increasingly|more and more|still|"
_INTENS += r"just|starting to feel|beginning to feel|feeling|a lot|totally|completely|absolutely|kind of|sort of|not)\s+){0,3}"
EXPRESS_STRONG = _rx(
    rf"\bI(?:'m| am|'ve been| have been| was| feel| felt| get| got| end up feeling| keep feeling|'m feeling| am feeling) {_INTENS}(?:{FEELINGS})\b",
    r"\b(?:it|that|this) (?:really |honestly )?(?:bothers|upsets|worries|annoys|hurts|scares|frustrates|stresses|saddens) me\b",
    r"\b(?:it|this|that) (?:really )?matters to me\b", r"\b(?:it|this|that) (?:is|'s) (?:really |very )?important to me\b",
    r"\bit is to me\b", r"\bI care (?:about|a lot)\b", r"\bI(?:'ve| have)? (?:really |genuinely )?(?:love|loved|enjoyed|hate|hated|dread|miss|missed)\b(?! to)",
    r"\b(?:a|such a) (?:big |real |huge )?relief\b",
    r"\bI(?:'m| am) (?:not|really not) (?:happy|comfortable|okay|ok|alright) (?:with|about)\b",
    r"\bI(?:'m| am) (?:really )?not happy\b", r"\bweighing on me\b", r"\bhard for me\b", r"\bI feel (?:really |so )?(?:bad|good)\b",
    r"\bI(?:'m| am) (?:at the end of my tether|running on empty|out of my depth)\b",
)
EXPRESS_WEAK = _rx(
    r"\byou (?:make|made) me\b", r"\b(?:it|that|this) (?:makes|made) me (?:feel|so|really)\b", r"\bbecause of you\b",
    r"\bI feel (?:like|that) (?:you|your|he|she|they|nobody|no one)\b", r"\bI feel you(?:'re| are)\b",
    r"\bI (?:kind of |sort of )?feel (?:like|that) (?!I\b)(?:\w+ ){1,3}(?:is|are|was|were|doesn'?t|don'?t|isn'?t|has|have)\b",
    r"\bI think you(?:'re| are)\b",
    r"\bit'?s (?:kind of |sort of |a bit |a little )*(?:annoying|upsetting|frustrating|hurtful|stressful|worrying)\b",
    r"\bit felt (?:a bit|kind of|sort of)\b", r"\bit'?s whatever\b",
)
_FEELING_HEDGE = _rx(r"\bkind of\b", r"\bsort of\b", r"\bI guess\b", r"\bI suppose\b", r"\bmaybe\b", r"\byou know\b", r"\bwhatever\b")


def express_evidence(*, text: str, context: list[dict] | None) -> Evidence:
    weak = _spans(EXPRESS_WEAK, text)
    present = [s for s in _spans(EXPRESS_STRONG, text) if not re.search(r"\b(?:grateful|thankful) (?:for|that)\b", _sentence_of(text, s), re.IGNORECASE)]
    if present and not weak:
        sentence = " ".join(_sentence_of(text, s) for s in present)
        weak = _spans(_FEELING_HEDGE, sentence)
    return Evidence(present=present, weak=weak)


# -- Reinforce ---------------------------------------------------------------

GAIN = _rx(
    r"\bwould let (?:you|us|me)\b", r"\bwe both\b", r"\bI(?:'ll| will) (?:actually )?(?:relax|come round|be (?:happier|calmer|nicer))\b",
    r"\byou(?:'d| would|'ll| will| can| could)(?: actually| also| both| never| not)? (?:get|have|be able|never have|not have|save|avoid|stay|keep|see|"
    r"know|love|enjoy|find|hear|gain|feel|sleep)\b",
    r"\byou won'?t (?:have|need|get|hear|be)\b", r"\bwe(?:'d| would|'ll| will) both\b", r"\bfor both of us\b", r"\bboth of us\b",
    r"\b(?:it|that|this)(?:'ll| will|'d| would) (?:make|save|free|give|let|mean|help) (?:you|us|things|working|everything|the)\b",
    r"\b(?:he|she|they|Dad|Mum)(?:'ll| will|'d| would) (?:love|get|have|enjoy|be)\b", r"\bso (?:the|you|we) \w+ (?:would|will|can)\b",
    r"\bI(?:'ll| will|'d| would) (?:keep bringing|stop nagging|never have to|not need to|won'?t need|tell (?:my|everyone|people)|be (?:a )?(?:far |much )?(?:less|more|better|happier))\b",
    r"\bI won'?t (?:need|have|be|bother|keep|chase|knock)\b", r"\bI'?ll have the kettle on\b", r"\byou'?ll get\b",
    r"\bmuch (?:better|happier|nicer|stronger|easier|calmer)\b", r"\b(?:far|a lot) (?:better|happier|nicer|stronger|easier|calmer)\b",
    r"\bin return\b", r"\bbenefit\b", r"\bthat way\b", r"\byou'?ve saved\b", r"\btake up (?:more of )?your time\b",
)
THANKS = _rx(
    r"\bthank(?:s| you)\b(?! for (?:asking|having|your time|listening|coming))", r"\bI (?:really )?appreciate\b",
    r"\bthat means a lot\b", r"\bthat'?s (?:really )?(?:kind|fair|brilliant|great)\b", r"\b(?:brilliant|great|perfect|lovely)\b",
)
FAVOUR_TO_ME = _rx(r"\b(?:it|that)(?:'d| would)(?: just| really)? help me(?: out)?\b", r"\bhelp me out\b", r"\bbetter for everyone\b",
                   r"\babout time\b", r"\bif you (?:really |actually )?cared\b", r"\byou owe me\b")


def reinforce_evidence(*, text: str, context: list[dict] | None) -> Evidence:
    present = _spans(GAIN, text)
    moment = partner_moment(context=context)
    thanks = _spans(THANKS, text)
    if thanks and (moment == "agreement" or present):
        present = thanks[:1] + present
    weak = _spans(FAVOUR_TO_ME, text) + _spans(THREAT, text)
    if present and re.search(r"\bif you(?:'re| are)? not\b|\bor else\b", text, re.IGNORECASE):
        weak.append(re.search(r"\bif you(?:'re| are)? not\b|\bor else\b", text, re.IGNORECASE).group(0))
    return Evidence(present=present, weak=weak)


# -- Negotiate ---------------------------------------------------------------

OFFER = _rx(
    r"\bwhat if (?:we|I|you)\b", r"\bhow about\b", r"\bwould it help if\b", r"\bwhat (?:would|could|might) (?:work|suit|help|make it easier)\b", r"\bwhat would you need\b",
    r"\bwhat (?:can|could) you (?:do|manage|offer)\b", r"\bwhat options\b", r"\bcould we (?:split|meet|try|swap|share)\b",
    r"\bcan we (?:split|meet|try|swap|share|find)\b",
    r"\bif [^,.?]{0,40}(?:can'?t|cannot|isn'?t possible|impossible|(?<!not )too (?:much|long|soon|early|late)|(?:are|is) out|doesn'?t work)\b(?! trouble| bother)",
    r"\bI could (?!maybe|possibly|try|cry|not|never)\w+", r"\botherwise I(?:'d| would)\b", r"'?s fine if\b", r"\bworks? (?:for me )?if\b", r"\bsplit the difference\b", r"\bmeet (?:you )?(?:halfway|in the middle)\b",
    r"\bin exchange\b", r"\binstead\b", r"\bif (?:a |the )?[\w\s']{0,30}(?:isn'?t|is not|'s not) possible\b", r"\bif that'?s too much\b",
    r"\bif nothing'?s\b", r"\bif there'?s nothing\b", r"\bwould you rather\b", r"\bhow do we make this work\b", r"\bwould (?:a|an|the) [\w\s-]{1,25} (?:suit|work)\b",
    r"\bas long as\b", r"\bprovided (?:that )?\b", r"\bI(?:'ll| will| could| can|'d be willing to) (?:take any|write up|run the|do (?:the|a|half)|pay (?:half|the|for)|cover|meet|send you|give you)\b",
    r"\bI could (?:hand|do|take|write|pay|meet|send|cover|come|work)\b", r"\bI'?ll take any\b", r"\bhalf now\b", r"\bthe rest (?:by|on|at)\b",
    r"\bcompromise\b", r"\balternatively\b", r"\b(?:one|another) option\b", r"\bI(?:'m| am) open to\b", r"\bI(?:'d| would) be willing\b",
    r"\bwe set\b", r"\byou (?:do|take) \w+ and (?:I|she|he) (?:do|take|keep)\b", r"\bcould you ask\b", r"\bany of the other\b",
    r"\bvia \w+ or \w+\b", r"\b(?:on|for) a trial\b", r"\bfor (?:a|one) month\b", r"\bjoint\b",
    r"\bif you [\w\s']{1,40}, (?:I'?ll|I will|you can|you could|we can)\b",
    r"\bif someone else \w+, I'?ll\b", r"\bfrom next (?:month|week)\b[^.?!]*\bmove\b",
)
GIVE_AWAY = _rx(
    r"\bwhatever you think\b", r"\b(?:pay|come|play it|do it) (?:whenever|as loud as|however) you\b", r"\bwhenever you (?:can|like|want)\b",
    r"\bI'?ll just (?:pay|keep|hand|do|leave|take)\b", r"\bmaybe I could (?:just )?try\b", r"\bI suppose I could\b",
    r"\b(?:half|that)'?s fine,? I suppose\b", r"\bthen,? I suppose\b", r"\bforget (?:it|I asked)\b", r"\bnever ?mind\b",
    r"\bI'?ll do (?:it|them|that) myself\b", r"\bI'?ll keep doing it\b", r"\byou'?re right,? (?:sorry|I'?m)\b", r"\bsorry,? you'?re right\b",
    r"\bI'?m (?:probably )?being (?:petty|silly|ungrateful|unreasonable)\b", r"\bignore me\b", r"\bif you think so\b",
    r"\btake it or leave it\b", r"\bnon-?negotiable\b", r"\bthat'?s final\b", r"\bno other way\b", r"\bsorry to bother\b",
    r"\bwe can (?:work|figure|sort) something out\b", r"\bforget I (?:mentioned|asked|said)\b", r"\bdon'?t worry about it\b",
    r"\bI'?ll see what I can do\b", r"\bokay,? (?:fine,? )?I'?ll do it\b", r"\bI'?ll work something out\b",
)


def negotiate_evidence(*, text: str, context: list[dict] | None) -> Evidence:
    present = _spans(OFFER, text)
    weak = _spans(GIVE_AWAY, text)
    if weak and not present and partner_moment(context=context) == "opening" and not re.search(r"take it or leave it|non-?negotiable|that'?s final", text, re.IGNORECASE):
        return Evidence(absent_reason="nothing was asked yet, so there is nothing to give up")
    return Evidence(present=present, weak=weak)


# -- Mindful -----------------------------------------------------------------

COUNTER_ATTACK = _rx(
    r"\bI'?m not (?:sensitive|petty|lazy|selfish|keeping tabs|being|that type)\w*!?", r"\byou always\b", r"\byou never\b",
    r"\byou do this\b", r"\bremember when\b", r"\bwhat about (?:the time|when)\b", r"\bdo you think I\b", r"\bname one\b",
    r"\bwhy can'?t you\b", r"\bsome of us\b", r"\bpoor you\b", r"\bbroken record\b", r"\bhere we go\b", r"!",
)
_ANYWAY_BACK = _rx(r"\banyway[.,]? (?:the|about|back|can you|just)\b[^.!?]*")
RETURN = _rx(r"\banyway[.,]? (?:the|about|back|can you|just)\b", r"\bstill\b", r"\beither way\b", r"\bregardless\b", r"\bcoming back to\b", r"\bback to\b", r"\bthe point is\b",
             r"\bthat doesn'?t change\b", r"\beven so\b", r"\bright now I'?m\b", r"\btonight I'?m\b")


def mindful_evidence(*, text: str, context: list[dict] | None, asserted: Evidence, negotiated: Evidence) -> Evidence:
    if partner_moment(context=context) != "pushback":
        return Evidence(absent_reason="no deflection to return from")
    if COLLAPSE.search(text):
        return Evidence(absent_reason="the request is dropped after the push-back")
    goal = asserted.present + [s for s in asserted.weak if s not in _spans(THREAT, text)] + negotiated.present
    goal += _spans(_ANYWAY_BACK, text)
    if not goal:
        return Evidence(absent_reason="the reply follows the diversion without coming back to the request")
    present = _spans(RETURN, text) + goal
    weak = _spans(COUNTER_ATTACK, text) + _spans(HOSTILE, text)
    return Evidence(present=present, weak=weak)


# -- Appear confident -------------------------------------------------------


def confident_evidence(*, text: str, context: list[dict] | None, substance: bool) -> Evidence:
    if COLLAPSE.search(text):
        return Evidence(absent_reason="backs down")
    weak = _spans(HEDGES, text) + _spans(HOSTILE, text) + _spans(SHOUTING, text)
    if re.search(r"\?\s*$", text) and weak:
        weak.append("?")
    if not substance:
        if weak:
            return Evidence(weak=weak)
        return Evidence(absent_reason="nothing of substance to stand behind")
    sentences = sentence_spans(text=text)
    return Evidence(present=[sentences[0]] if sentences else [text.strip()], weak=weak)


@lru_cache(maxsize=1024)
def skills_used(*, text: str) -> frozenset[str]:
    """The skills an earlier trainee turn used, read without its context (cached: each turn is read again later)."""
    return frozenset(
        skill for skill, ev in dear_man_evidence(text=text).items()
        if ev.present and not ev.absent_reason and skill in ("describe", "express", "assert", "reinforce", "negotiate")
    )


def dear_man_evidence(*, text: str, context: list[dict] | None = None) -> dict[str, Evidence]:
    """Evidence for each DEAR MAN skill in ``text`` said after ``context``."""
    text = " ".join(str(text).split())
    result = {
        "describe": describe_evidence(text=text, context=context),
        "express": express_evidence(text=text, context=context),
        "assert": assert_evidence(text=text, context=context),
        "reinforce": reinforce_evidence(text=text, context=context),
        "negotiate": negotiate_evidence(text=text, context=context),
    }
    result["mindful"] = mindful_evidence(text=text, context=context, asserted=result["assert"], negotiated=result["negotiate"])
    substance = any(result[s].found for s in ("describe", "express", "assert", "reinforce", "negotiate"))
    result["appear-confident"] = confident_evidence(text=text, context=context, substance=substance)
    return result


def evidence_label(*, evidence: Evidence) -> tuple[str, float]:
    """(strong | weak | absent, confidence) from the evidence alone: presence first, then quality."""
    if evidence.absent_reason or not evidence.found:
        return "absent", 0.85 if evidence.absent_reason else 0.8
    if evidence.weak:
        return "weak", 0.7 if evidence.present else 0.65
    return "strong", 0.85 if len(evidence.present) > 1 else 0.75
