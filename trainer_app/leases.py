"""Keeping a claimed row's lease fresh while a task works on it.

A task claims its row with a conditional UPDATE that stamps a time; another
delivery may take the row over only once that time is older than the lease.
While the work runs, a thread renews the stamp every third of the lease, so a
slow task is never run twice, and a worker killed mid-task (SIGKILL: no
cleanup runs) stops renewing it: its work is taken over within one lease
instead of after the task's whole time limit.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def lease_renewed(*, renew: Callable[[], object], lease_s: float, name: str) -> Iterator[None]:
    """Call ``renew()`` every ``lease_s / 3`` seconds until the block ends."""
    from django.db import close_old_connections, connection, connections

    if connection.in_atomic_block:
        # Inside the caller's transaction (tests): nothing outside it could see a renewal,
        # and a second connection writing would wait on this one's lock.
        yield
        return
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(lease_s / 3):
            try:
                renew()
            except Exception:  # a locked or restarting database: the next renewal tries again
                logger.exception("lease renewal (%s) failed", name)
            finally:
                close_old_connections()
        connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=run, name=f"lease-{name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
