"""The embedded Celery broker: kombu's SQLAlchemy transport on a SQLite file,
polled every 50 ms instead of every second so live feedback stays under a
second. (kombu passes transport options straight to create_engine, so the
interval cannot be set as an option; a subclass sets it.)

A poll costs almost nothing while nothing changed: each consuming channel asks
SQLite's ``PRAGMA data_version`` (a counter that moves when another connection
commits to the file) and reads a queue again only when the file changed since
that queue was last found empty (and at least every ``RECHECK_S``). A message
is taken by one read and one conditional DELETE on the channel's own
connection, not by kombu's ORM (which read the queue row, locked the file with
``BEGIN IMMEDIATE`` and flushed a unit of work on every poll of every queue:
the idle workers cost 0.06 core each, ~2 ms per poll). A taken message is
deleted rather than kept as an invisible row: nothing reads those rows (kombu
keeps an unacknowledged message in the worker's memory and publishes it again
on a clean shutdown), and kept they made every poll scan a file that grew with
every message ever sent.

The file is opened in WAL mode with ``synchronous=NORMAL``, as the app's own
database and the channel layer's are. Why: in SQLite's default rollback
journal every publish (a web process enqueueing a turn's assessment) and every
poll of every worker queue (kombu's took the write lock, 20 times a second)
committed with several fsyncs, and readers and the writer blocked each other;
the web's publish cost several ms of CPU per turn. WAL commits append to one
file with no fsync at commit; a commit can be lost on power loss only (not on
a process crash), and what matters is durable elsewhere: a turn's assessment
request is an outbox row in the app's database, re-enqueued by the sweep."""

import logging
import sqlite3
from queue import Empty
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Channel as SQLAlchemyChannel
from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

logger = logging.getLogger(__name__)

ALIAS = "sqlitebroker"
# A queue found empty is read again at least this often even if the file's data_version did not move
# (it always moves on another connection's commit: this only bounds the cost of being wrong about that).
RECHECK_S = 1.0


def _sqlite_pragmas(dbapi_connection, _connection_record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # persistent on the file; a no-op once set
        cursor.execute("PRAGMA synchronous=NORMAL")  # per connection
    finally:
        cursor.close()


class Channel(SQLAlchemyChannel):
    _queue_ids: dict[str, int] | None = None
    _consumer = None  # this channel's own DBAPI connection for taking messages (SQLite only)
    _publisher = None  # ...and for publishing them (SQLite only)
    _empty_at: dict[str, tuple[int, float]] | None = None  # queue -> (data_version, monotonic) when found empty

    def _engine_from_config(self):
        engine = super()._engine_from_config()
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    def _queue_id(self, queue: str) -> int:
        if self._queue_ids is None:
            self._queue_ids = {}
        queue_id = self._queue_ids.get(queue)
        if queue_id is None:
            queue_id = self._queue_ids[queue] = self._get_or_create(queue).id
        return queue_id

    def _put(self, queue, payload, **kwargs):
        """kombu's publish, without its ORM: the same row (payload, queue id, visible, version 1, no
        timestamp, as kombu's ``Message`` is inserted), by one INSERT, the queue's id looked up once
        per channel instead of per publish (queues are created, never removed, by this transport).

        perf: kombu queried the queue row and flushed an ORM unit of work on every publish, ~65 % of
        ``apply_async``'s CPU: the web process publishes one assessment per trainee turn. On SQLite
        the INSERT runs on the channel's own driver connection in autocommit (the statement is its
        own transaction): building, compiling and committing it through SQLAlchemy's session was
        another ~40 % of what was left (0.59 → 0.37 ms per ``apply_async``, uncontended)."""
        queue_id = self._queue_id(queue)
        body = dumps(payload)
        if self._open()[0].dialect.name == "sqlite":
            table = self.message_cls.__tablename__
            self._publisher_connection().execute(
                f"INSERT INTO {table} (visible, payload, version, queue_id) VALUES (1, ?, 1, ?)",  # noqa: S608 - our table name
                (body, queue_id),
            )
            return
        insert = self.message_cls.__table__.insert().values(queue_id=queue_id, payload=body, visible=True, version=1)
        try:
            self.session.execute(insert)
            self.session.commit()
        except OperationalError:
            self.session.rollback()
            raise

    def _publisher_connection(self):
        """The channel's own connection for publishing, in autocommit, opened on the first publish."""
        if self._publisher is None:
            engine, _ = self._open()
            publisher = engine.raw_connection()
            publisher.driver_connection.isolation_level = None
            self._publisher = publisher
        return self._publisher.driver_connection

    def _consumer_connection(self):
        """The channel's own connection, in autocommit (each statement its own transaction), opened on
        the first poll; consumed rows left by kombu's own transport (invisible, never read) go then."""
        if self._consumer is None:
            engine, _ = self._open()
            consumer = engine.raw_connection()
            consumer.driver_connection.isolation_level = None
            table = self.message_cls.__tablename__
            consumer.driver_connection.execute(f"DELETE FROM {table} WHERE visible = 0")  # noqa: S608 - our table name
            self._consumer, self._empty_at = consumer, {}
        return self._consumer.driver_connection

    def _get(self, queue):
        """The queue's oldest visible message, taken: kombu's order (sent_at, then id)."""
        if self._open()[0].dialect.name != "sqlite":
            return super()._get(queue)
        connection = self._consumer_connection()
        version = connection.execute("PRAGMA data_version").fetchall()[0][0]
        empty = self._empty_at.get(queue)
        if empty is not None and empty[0] == version and monotonic() - empty[1] < RECHECK_S:
            raise Empty()  # nothing committed to the file by anyone else since the queue was found empty
        table = self.message_cls.__tablename__
        queue_id = self._queue_id(queue)
        while True:
            # fetchall: the statement runs to its end, so no read transaction stays open behind it
            rows = connection.execute(
                f"SELECT id, payload FROM {table} WHERE queue_id = ? AND visible = 1 "  # noqa: S608 - our table name
                "ORDER BY timestamp, id LIMIT 1",
                (queue_id,),
            ).fetchall()
            if not rows:
                self._empty_at[queue] = (version, monotonic())  # the version read before this query
                raise Empty()
            # Conditional: another consumer of the queue may have taken it since the read.
            message_id, payload = rows[0]
            if connection.execute(f"DELETE FROM {table} WHERE id = ? AND visible = 1", (message_id,)).rowcount == 1:  # noqa: S608
                self._empty_at.pop(queue, None)
                return loads(bytes_to_str(payload))

    def close(self):
        super().close()
        for name in ("_consumer", "_publisher"):
            connection = getattr(self, name)
            setattr(self, name, None)
            if connection is not None:
                try:
                    connection.invalidate()  # closed, not handed back to the pool in autocommit
                except Exception:  # closing anyway
                    logger.debug("broker: closing the channel's %s connection failed", name, exc_info=True)


class Transport(SQLAlchemyTransport):
    Channel = Channel
    polling_interval = 0.05
    # The take runs on the driver's own connection: its errors (a file locked past the busy timeout) are
    # connection errors, as SQLAlchemy's are, so Celery reconnects instead of stopping the consumer.
    connection_errors = (*SQLAlchemyTransport.connection_errors, sqlite3.OperationalError)


TRANSPORT_ALIASES.setdefault(ALIAS, "trainer_app.broker:Transport")
