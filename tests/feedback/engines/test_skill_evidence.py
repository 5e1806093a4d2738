"""Specific evidence per DEAR MAN skill, read with the context (pure functions, no model)."""

from __future__ import annotations

import pytest

from feedback.engines.skill_evidence import dear_man_evidence, earlier_request, evidence_label, partner_moment

OPENING = [{"speaker": "partner", "text": "Come in. What can I do for you?"}]
PUSHBACK = [{"speaker": "partner", "text": "There's just no budget for raises this year."}]
AGREED = [{"speaker": "partner", "text": "Okay, I'll put it through for April."}]


def _labels(text, context):
    return {skill: evidence_label(evidence=ev)[0] for skill, ev in dear_man_evidence(text=text, context=context).items()}


def test_a_plain_fact_is_describe_only_and_not_a_start_on_assert():
    labels = _labels("Since March I've onboarded eleven new hires on top of my own accounts.", OPENING)
    assert labels["describe"] == "strong"
    assert labels["assert"] == labels["negotiate"] == labels["mindful"] == labels["express"] == "absent"
    assert labels["appear-confident"] == "strong"  # a plain statement reads as confident


@pytest.mark.parametrize(
    ("text", "context", "skill", "label"),
    [
        ("I'd like a raise to forty-two thousand from April.", OPENING, "assert", "strong"),
        ("I was wondering if maybe there's any chance of a raise at some point?", OPENING, "assert", "weak"),
        ("No, I can't take Henderson this week.", [{"speaker": "partner", "text": "Can you take Henderson?"}], "assert", "strong"),
        ("I'm worried my pay no longer matches what I do.", OPENING, "express", "strong"),
        ("You make me feel like an idiot.", OPENING, "express", "weak"),
        ("I feel like you think I'm lazy.", OPENING, "express", "weak"),
        ("I understand it's tight. I'm still asking for forty-two.", PUSHBACK, "mindful", "strong"),
        ("I'm still asking for forty-two.", OPENING, "mindful", "absent"),  # nothing to return from
        ("Oh. Right, never mind then, sorry.", PUSHBACK, "mindful", "absent"),
        ("There's always money for your favourites! Typical. Anyway, I'd like the raise.", PUSHBACK, "mindful", "weak"),
        ("What if we agree forty-two from April, in writing?", PUSHBACK, "negotiate", "strong"),
        ("Oh, okay, whatever you think is fair.", PUSHBACK, "negotiate", "weak"),
        ("Thank you, I really appreciate it.", AGREED, "reinforce", "strong"),
        ("Thank you for asking, but no.", [{"speaker": "partner", "text": "Will you chair the fair?"}], "reinforce", "absent"),
        ("You'd keep someone who already knows the client.", PUSHBACK, "reinforce", "strong"),
        ("Sorry, um, it's probably nothing, but maybe my pay is a bit low?", OPENING, "appear-confident", "weak"),
        ("Sorry, you're right, forget I asked.", PUSHBACK, "appear-confident", "absent"),
        ("Hi. How was your weekend?", OPENING, "appear-confident", "absent"),  # nothing of substance
        ("You're always late with it, it's ridiculous.", OPENING, "describe", "weak"),
    ],
)
def test_each_skill_needs_its_own_evidence(text, context, skill, label):
    assert _labels(text, context)[skill] == label


def test_evidence_is_the_trainees_own_words():
    text = "Since March I've done every weekend shift. I feel worn out. Would you share them out from next month?"
    for ev in dear_man_evidence(text=text, context=OPENING).values():
        for span in ev.present + ev.weak:
            assert span in text


def test_the_partners_last_line_sets_the_moment():
    assert partner_moment(context=[]) == "opening"
    assert partner_moment(context=OPENING) == "opening"
    assert partner_moment(context=PUSHBACK) == "pushback"
    assert partner_moment(context=AGREED) == "agreement"
    assert partner_moment(context=[*PUSHBACK, {"speaker": "trainee", "text": "I see."}]) == "opening"  # trainee spoke last


def test_earlier_request_is_found_in_the_trainees_turns():
    context = [
        {"speaker": "trainee", "text": "Since March I've onboarded eleven people. I'd like a raise to forty-two."},
        *PUSHBACK,
    ]
    assert earlier_request(context=context) == "I'd like a raise to forty-two."
    assert earlier_request(context=PUSHBACK) == ""
