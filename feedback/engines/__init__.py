"""Assessment engines, one per framework kind, each with an offline backend
(always available) and an LLM backend (when configured)."""
