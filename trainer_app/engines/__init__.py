"""Model engines: each an interface with backends chosen by settings.

Engines know nothing of scenarios or feedback. Each reports its status
(backend in use, production or fallback, and why) for /healthz.
"""
