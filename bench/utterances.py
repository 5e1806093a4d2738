"""Realistic trainee lines, by the kind of scenario they are said in."""

CBT = [
    "Thanks for coming in today. What would you like to focus on in our session?",
    "Can you tell me about a recent time when you felt really anxious?",
    "What was going through your mind right at that moment?",
    "Where were you, and who else was there when it happened?",
    "How strongly did you believe that thought, from zero to a hundred?",
    "What did you notice in your body when you started to feel that way?",
    "What did you do next, after that thought came up?",
    "It sounds like that was a really hard evening for you.",
    "When you avoided the meeting, what happened to the worry afterwards?",
    "Has anything like this happened before, maybe when you were younger?",
    "What do you think it says about you, if you made that mistake?",
    "So the thought was 'I'm going to be found out', and you felt panicky. Is that right?",
    "How would you like things to be different a few months from now?",
    "I'd like to write some of this down together, is that okay with you?",
]

DEAR_MAN = [
    "Hi, have you got a minute? There's something I'd like to talk about.",
    "Over the last three weeks the music has been loud after midnight on weeknights.",
    "I feel really worn out when I can't sleep before an early shift.",
    "I'd like you to turn it down after eleven on weeknights.",
    "If we can sort this out, I'd be happy to give you a heads-up when I have people over too.",
    "I hear that you're busy, and I still need us to agree on this.",
    "I understand it's awkward. I'm asking for the money back by the end of the month.",
    "What would make that possible for you?",
    "Could we meet halfway and say the twenty-fifth instead?",
    "I'm not going to argue about it, I'm just asking for what we agreed.",
    "You never listen to anything I say, honestly.",
    "I've taken on extra work since March, including the supplier reports.",
    "I'd like to discuss a raise that reflects that extra responsibility.",
    "Thanks for hearing me out. So we're agreed on Friday?",
]

MI = [
    "What brings you in today?",
    "What do you enjoy about smoking?",
    "On a scale from one to ten, how important is it for you to make a change?",
    "Why a five and not a two?",
    "It sounds like you're feeling pulled in two directions.",
    "You're worried about your health, and at the same time drinking helps you unwind.",
    "What would need to happen for you to feel more confident about it?",
    "You really should stop, you know how bad it is for you.",
    "What have you tried before, and what worked even a little?",
    "So your kids are a big part of why this matters to you.",
    "Would it be okay if I shared some information about the medication?",
    "What do you make of that?",
    "It's entirely your choice what you do next.",
    "Where does that leave you now?",
]

FAMILIES = {
    "cbt": {"lines": CBT, "scenarios": ["aisling-first-session", "derek-first-session", "marcus-first-session",
                                          "priya-first-session", "rosa-first-session", "tomasz-first-session"]},
    "dear-man": {"lines": DEAR_MAN, "scenarios": ["noise-easy", "loan-medium", "raise-easy", "rent-medium",
                                                   "heating-easy", "chores-medium", "extra-work-easy"]},
    "mi": {"lines": MI, "scenarios": ["mi-aisha-smoking", "mi-helen-exercise", "mi-martin-alcohol",
                                       "mi-ray-diabetes-meds"]},
}
ORDER = ["cbt", "dear-man", "mi"]
