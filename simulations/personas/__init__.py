"""Persona engines: per-session state, trainee-utterance signals, disclosure-gated
facts and the engines (scripted, LLM) that speak as the simulated partner.

Everything here works on plain dicts in the scenario-pack format
(docs/scenario-packs.md); nothing touches the ORM.
"""
