"""Persona engine backends: scripted (embedded default, exam mode) and LLM."""
