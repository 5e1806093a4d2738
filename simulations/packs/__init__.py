"""Scenario packs (docs/scenario-packs.md): safe loading, validation, the
section registry other apps plug into, and deterministic dumping.

Services that write packs to the database live in simulations/services/packs.py."""
