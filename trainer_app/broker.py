"""The embedded Celery broker: kombu's SQLAlchemy transport on a SQLite file,
polled every 50 ms instead of every second so live feedback stays under a
second. (kombu passes transport options straight to create_engine, so the
interval cannot be set as an option; a subclass sets it.)

The file is opened in WAL mode with ``synchronous=NORMAL``, as the app's own
database and the channel layer's are. Why: in SQLite's default rollback
journal every publish (a web process enqueueing a turn's assessment) and every
poll of every worker queue (each takes the write lock, 20 times a second)
committed with several fsyncs, and readers and the writer blocked each other;
the web's publish cost several ms of CPU per turn. WAL commits append to one
file with no fsync at commit; a commit can be lost on power loss only (not on
a process crash), and what matters is durable elsewhere: a turn's assessment
request is an outbox row in the app's database, re-enqueued by the sweep."""

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Channel as SQLAlchemyChannel
from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport
from kombu.utils.json import dumps
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

ALIAS = "sqlitebroker"


def _sqlite_pragmas(dbapi_connection, _connection_record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # persistent on the file; a no-op once set
        cursor.execute("PRAGMA synchronous=NORMAL")  # per connection
    finally:
        cursor.close()


class Channel(SQLAlchemyChannel):
    _queue_ids: dict[str, int] | None = None

    def _engine_from_config(self):
        engine = super()._engine_from_config()
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    def _put(self, queue, payload, **kwargs):
        """kombu's publish, without its ORM: the same row (payload, queue id, visible, version 1, no
        timestamp, as kombu's ``Message`` is inserted), by one INSERT, the queue's id looked up once
        per channel instead of per publish (queues are created, never removed, by this transport).

        perf: kombu queried the queue row and flushed an ORM unit of work on every publish, ~65 % of
        ``apply_async``'s CPU: the web process publishes one assessment per trainee turn."""
        if self._queue_ids is None:
            self._queue_ids = {}
        queue_id = self._queue_ids.get(queue)
        if queue_id is None:
            queue_id = self._queue_ids[queue] = self._get_or_create(queue).id
        insert = self.message_cls.__table__.insert().values(
            queue_id=queue_id, payload=dumps(payload), visible=True, version=1
        )
        try:
            self.session.execute(insert)
            self.session.commit()
        except OperationalError:
            self.session.rollback()
            raise


class Transport(SQLAlchemyTransport):
    Channel = Channel
    polling_interval = 0.05


TRANSPORT_ALIASES.setdefault(ALIAS, "trainer_app.broker:Transport")
