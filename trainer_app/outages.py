"""A backing service that is briefly gone (Redis, the broker, the database connection), told apart
from a bug, and logged as one warning line instead of a traceback per request.

Found by the fault suite: with Redis down, every websocket handshake crashed into an HTTP 500
with a traceback (the page retried every few seconds, so the log filled with them), and a database
connection dropped mid-request answered Django's bare "Server Error (500)". An outage is not a
bug to debug from a stack trace: the person gets "briefly unavailable" (503) and the log gets
one line per kind of outage per ``OUTAGE_LOG_INTERVAL_S``.

Programming errors stay errors: IntegrityError, ProgrammingError and the like are not outages.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import InterfaceError as DbInterfaceError
from django.db import OperationalError as DbOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# ConnectionError (the builtin): refused or reset sockets that a client library let through unwrapped.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    DbOperationalError, DbInterfaceError, RedisConnectionError, RedisTimeoutError, BrokerOperationalError,
    ConnectionError,
)
OUTAGE_LOG_INTERVAL_S = 60.0

_last_logged: dict[str, float] = {}
_lock = threading.Lock()


def is_outage(exc: BaseException | None) -> bool:
    return isinstance(exc, OUTAGE_ERRORS)


_LINE = "%s: service unavailable (%s: %s); further such errors are not logged for %d s"


def _due(key: str) -> bool:
    """True (and remembered) when ``key`` was not logged within the interval."""
    now = time.monotonic()
    with _lock:
        last = _last_logged.get(key)
        if last is not None and now - last < OUTAGE_LOG_INTERVAL_S:
            return False
        _last_logged[key] = now
    return True


def _line_args(what: str, exc: BaseException) -> tuple:
    return what, type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "", OUTAGE_LOG_INTERVAL_S


def outage_warn(*, what: str, exc: BaseException, log: logging.Logger | None = None) -> bool:
    """One warning line for ``what`` (e.g. "websocket"), at most once per interval; True when it logged."""
    if not _due(what):
        return False
    (log or logger).warning(_LINE, *_line_args(what, exc))
    return True


def outage_log_reset() -> None:
    """Forget what was logged (tests)."""
    with _lock:
        _last_logged.clear()


class OutageLogFilter(logging.Filter):
    """For a library's logger that logs every failed reconnect with its traceback (channels_redis's
    pub/sub layer does, once a second while Redis is down): an outage becomes one warning line a
    minute, without the traceback; any other record passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not is_outage(exc):
            return True
        message = record.getMessage().rstrip(":")
        if not _due(f"{record.name}: {message}"):
            return False
        record.msg, record.args = _LINE, _line_args(message, exc)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True
