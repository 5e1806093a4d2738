"""Concrete, utterance-specific suggestions and rewrites for MI codes.

Rule-based on purpose: they must work offline and never invent content. A
rewrite re-uses the trainee's own words (closed -> open question) or reflects
the client's last turn. Reflections go for what an expert would reflect: the
feeling named or implied (frightened, worn down, pushed into coming), the
two sides of an ambivalent "I want to, but..." (a double-sided reflection),
or what the client is defending; only when the client's words carry none of
these is the reflection their own words turned to the second person.
"""

from __future__ import annotations

import re

_SENTENCES = re.compile(r"(?<=[.?!])\s+")
_FILLER = re.compile(r"^(?:(?:so|and|but|okay|ok|well|um|uh|right|yeah|mm-hmm|alright)[,.]?\s+)+", re.IGNORECASE)
_PERSON_SWAP = {
    "i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "i'm": "you're", "im": "you're",
    "i've": "you've", "i'd": "you'd", "i'll": "you'll", "am": "are", "we": "you", "us": "you", "our": "your",
    "ourselves": "yourselves", "we're": "you're", "we've": "you've",
}  # fmt: skip
_WAS_AFTER_I = re.compile(r"\byou was\b")


def _sentences(text: str) -> list[str]:
    return [sentence.strip() for sentence in _SENTENCES.split((text or "").strip()) if sentence.strip()]


def _strip_filler(text: str) -> str:
    return _FILLER.sub("", text.strip()).strip(" -—–,")


def question_sentence(*, utterance: str) -> str:
    """The (last) sentence phrased as a question, or the last sentence."""
    sentences = _sentences(utterance)
    questions = [sentence for sentence in sentences if sentence.endswith("?")]
    return (questions or sentences or [utterance.strip()])[-1]


def second_person(*, text: str) -> str:
    """The client's words as the trainee would reflect them: "I can't sleep" -> "you can't sleep"."""
    words = re.findall(r"[\w']+|[^\w\s]", text)
    swapped = [_PERSON_SWAP.get(word.lower(), word) if word.lower() in _PERSON_SWAP else word for word in words]
    joined = " ".join(swapped)
    joined = re.sub(r"\s+([,.;:!?])", r"\1", joined)
    return _WAS_AFTER_I.sub("you were", joined)


def client_gist(*, client_text: str, max_words: int = 18) -> str:
    """The most content-bearing sentence of the client's last turn, shortened."""
    sentences = [_strip_filler(sentence) for sentence in _sentences(client_text)]
    sentences = [sentence.rstrip(".!?") for sentence in sentences if len(sentence.split()) >= 3]
    if not sentences:
        return ""
    chosen = max(sentences, key=lambda sentence: len(sentence.split()))
    words = chosen.split()
    return " ".join(words[:max_words]) + ("…" if len(words) > max_words else "")


def reflection_rewrite(*, client_text: str) -> str:
    gist = client_gist(client_text=client_text)
    if not gist:
        return ""
    gist = second_person(text=gist)
    return f"It sounds like {gist[0].lower() + gist[1:]}."


# (pattern in the client's words, the feeling it expresses, as an expert would name it)
_FEELINGS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\b(?:scared|afraid|terrified|frightened|panic\w*|heart attack)\b", re.I), "frightened"),
    (re.compile(r"\b(?:ashamed|embarrass\w*|guilty|humiliat\w*|disgusted with myself)\b", re.I), "ashamed"),
    (re.compile(r"\b(?:angry|furious|pissed off|fuming|livid|annoyed|irritat\w*|fed up|sick of)\b", re.I), "fed up"),
    (re.compile(r"\b(?:exhausted|tired|worn out|knackered|drained|can'?t cope|too much)\b", re.I), "worn down"),
    (re.compile(r"\b(?:worried|anxious|nervous|on edge|scary)\b", re.I), "worried"),
    (re.compile(r"\b(?:stress\w*|pressure|so much going on|a lot on my plate)\b", re.I), "under a lot of pressure"),
    (re.compile(r"\b(?:sad|down|depressed|low|miserable|hopeless|pointless)\b", re.I), "low"),
    (re.compile(r"\b(?:lonely|alone|on my own|nobody (?:cares|understands|listens))\b", re.I), "on your own with this"),
    (re.compile(r"\b(?:stuck|trapped|don'?t know what to do|no way out|going round in circles)\b", re.I), "stuck"),
    (re.compile(r"\b(?:frustrat\w*|pointless trying|keep failing|tried everything)\b", re.I), "frustrated"),
]
_PUSHED = re.compile(
    r"\b(?:made me come|sent me|told me to come|had to come|forced me|only here because|the court|"
    r"my (?:wife|husband|partner|mum|mom|doctor|gp|boss|probation officer) (?:made|wants) me)\b",
    re.I,
)
_TOLD = re.compile(r"\b(?:nagg\w*|on at me|lectur\w*|judg\w*|keeps? telling me|getting on me)\b", re.I)
_DEFENDING = re.compile(
    r"\b(?:not (?:a|that) big (?:deal|problem)|everyone (?:does|drinks|smokes)|I'?m fine|not a problem|I can stop (?:whenever|any time)|"
    r"it'?s not like I|I don'?t have a problem|I'?m not an alcoholic)\b",
    re.I,
)
_AMBIVALENT = re.compile(r"^(?P<want>.*\b(?:want|should|need|know|wish|try|trying|would like)\b.*?),?\s+but\s+(?P<yet>.+)$", re.I)


def _half(text: str, max_words: int = 12) -> str:
    words = second_person(text=_strip_filler(text)).rstrip(".!?,").split()
    return " ".join(words[:max_words]) + ("…" if len(words) > max_words else "")


def complex_reflection(*, client_text: str) -> str:
    """A reflection of the feeling or meaning in the client's last turn ("" when nothing in it points to one).

    Double-sided for ambivalence ("on the one hand..., and on the other..."),
    the feeling under being sent or lectured, what the client is defending,
    the feeling named or implied, in that order.
    """
    text = " ".join(str(client_text or "").split())
    if not text:
        return ""
    for sentence in _sentences(text):
        match = _AMBIVALENT.match(_strip_filler(sentence).rstrip(".!?"))
        if match and len(match.group("want").split()) >= 2 and len(match.group("yet").split()) >= 2:
            return f"On the one hand {_half(match.group('want'))}, and on the other, {_half(match.group('yet'))}."
    if _PUSHED.search(text):
        return "It sounds like coming here wasn't your idea, and you're feeling pushed into it."
    if _TOLD.search(text):
        return "It sounds like you're tired of being told what to do about this."
    if _DEFENDING.search(text):
        return "From where you're sitting, this isn't the problem other people make it out to be."
    feelings = [feeling for pattern, feeling in _FEELINGS if pattern.search(text)]
    if feelings:
        return f"It sounds like you're feeling {feelings[0]}."
    return ""


def client_carries_meaning(*, client_text: str) -> bool:
    """Whether the client's last turn holds something a question would step over (a feeling, ambivalence, a defence)."""
    return bool(complex_reflection(client_text=client_text)) or len(str(client_text or "").split()) >= 40


_OPEN_TEMPLATES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^(?:do|does|did) you think (?:that )?(.+)$", re.I), "What do you think about {0}?"),
    (re.compile(r"^(?:do|did) you (?:want|wanna) to (.+)$", re.I), "What makes you want to {0}?"),
    (re.compile(r"^(?:do|did) you feel (.+)$", re.I), "How do you feel {0}?"),
    (
        re.compile(r"^(?:have|had) you (?:ever )?(?:tried|thought about|considered) (.+)$", re.I),
        "What have you thought about when it comes to {0}?",
    ),
    (
        re.compile(
            r"^are you (ready|willing|able|worried|concerned|interested|happy|comfortable|sure|confident) (.+)$", re.I
        ),
        "How {0} are you {1}?",
    ),
    (
        re.compile(r"^(?:is|was) it (hard|difficult|easy|helpful|important|okay|ok) (.+)$", re.I),
        "What makes it {0} {1}?",
    ),
    (re.compile(r"^(?:would|will) you (?:be willing to |like to )?(.+)$", re.I), "What would it take for you to {0}?"),
    (re.compile(r"^(?:can|could) you (.+)$", re.I), "How might you {0}?"),
    (re.compile(r"^(?:do|does) you (.+)$", re.I), "Tell me more about how you {0}."),
    (re.compile(r"^(?:is|are) there (?:any|anything|some) (.+)$", re.I), "What {0} are there?"),
]


def open_question_rewrite(*, utterance: str) -> str:
    """A closed question re-asked as an open one, keeping the trainee's own content; "" when no template fits."""
    question = _strip_filler(question_sentence(utterance=utterance)).rstrip("?").strip()
    for pattern, template in _OPEN_TEMPLATES:
        match = pattern.match(question)
        if match:
            parts = [part.strip().rstrip("?,.") for part in match.groups()]
            rewritten = template.format(*parts)
            return rewritten[0].upper() + rewritten[1:]
    return ""


def behaviour_suggestion(
    *, labels: dict, utterance: str, client_text: str, previous_trainee: str = ""
) -> tuple[str, str]:
    """(suggestion, rewrite) for the coded utterance, specific to its words and the client's last turn.

    ``previous_trainee``: the trainee's turn before, so a second question in
    a row can be called out.
    """
    behaviour = labels.get("behaviour")
    deeper = complex_reflection(client_text=client_text)
    reflection = deeper or reflection_rewrite(client_text=client_text)
    if behaviour == "question" and (deeper or previous_trainee.rstrip().endswith("?")):
        said = client_gist(client_text=client_text, max_words=12)
        why = (
            f"The client just told you something that matters (\u201c{said}\u201d)" if deeper and said
            else "That is a second question in a row"
        )
        if reflection:
            opened = open_question_rewrite(utterance=utterance) if labels.get("question") == "closed" else ""
            also = f" If you do ask, open it: '{opened}'" if opened else ""
            return (
                f"{why}: a complex reflection would serve better here than another question. Try: '{reflection}' "
                f"Then let them answer it.{also}",
                reflection,
            )
    if behaviour == "question" and labels.get("question") == "closed":
        rewrite = open_question_rewrite(utterance=utterance)
        if rewrite:
            return f"Try turning that closed question into an open one: '{rewrite}'", rewrite
        return (
            "Try turning that closed question into an open one that starts with 'What' or 'How', so the client does the talking.",
            "",
        )
    if behaviour == "question":
        if reflection:
            return (
                f"Good open question. Before the next one, try reflecting what you heard: '{reflection}' "
                "Aim for about one reflection per question.",
                reflection,
            )
        return "Good open question. After the answer, reflect it back before asking another.", ""
    if behaviour == "reflection" and labels.get("reflection") == "simple":
        if deeper:
            return (
                f"That repeats what the client said. Go one step further, to the feeling or meaning underneath: '{deeper}'",
                deeper,
            )
        return (
            "That repeats what the client said. Try a complex reflection that adds the meaning or feeling underneath, "
            "e.g. 'It sounds like part of you wants to change, and part of you isn't sure it's worth the cost.'",
            "",
        )
    if behaviour == "reflection":
        return "A complex reflection: it goes beyond the client's words. Pause and let the client respond to it.", ""
    if behaviour == "therapist_input" and labels.get("input") == "advice":
        return (
            "Advice lands better when asked for. Ask permission first ('Would it be okay if I shared what has worked "
            "for others?') and then ask what they make of it.",
            "Would it be okay if I shared an idea that has helped other people? " + _strip_filler(utterance),
        )
    if behaviour == "therapist_input" and labels.get("input") == "information":
        return (
            "Follow the information with a question that hands it back: 'What do you make of that?' (elicit–provide–elicit).",
            "",
        )
    if behaviour == "therapist_input":
        return "Keep the choice with the client: offer it, then ask which option fits them best and why.", ""
    if reflection:
        return f"Try responding to what the client just said with a reflection: '{reflection}'", reflection
    return "Acknowledgements keep things moving; where you can, follow with a reflection or an open question.", ""
