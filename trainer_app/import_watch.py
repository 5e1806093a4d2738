"""Debug check: report, with the stack, when a process imports a module it should not.

``IMPORT_WATCH=torch,transformers,sentence_transformers`` (comma-separated top-level names)
makes the web process (``trainer_app/asgi.py``) write one ``import watch:`` line per watched
module to stderr the first time it is imported, with the stack that imported it. Tests use it
to check that the web process never loads PyTorch; it is off unless set.
"""

from __future__ import annotations

import os
import sys
import traceback


def import_watch_install(names: list[str]) -> None:
    watched = frozenset(n.strip() for n in names if n.strip())
    reported: set[str] = set()

    def hook(event: str, args: tuple) -> None:
        if event != "import":
            return
        top = str(args[0]).split(".", 1)[0]
        if top in watched and top not in reported:
            reported.add(top)
            stack = "".join(traceback.format_stack(limit=30)[:-1])
            sys.stderr.write(f"import watch: {top} imported in process {os.getpid()}\n{stack}\n")
            sys.stderr.flush()

    if watched:
        sys.addaudithook(hook)


def import_watch_from_env() -> None:
    names = os.environ.get("IMPORT_WATCH", "")
    if names:
        import_watch_install(names.split(","))
