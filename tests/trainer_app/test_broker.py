"""The embedded broker's SQLite file runs in WAL mode with synchronous=NORMAL (a publish commits without
an fsync, readers and the writer do not block each other), and messages still go through."""

from __future__ import annotations

import sqlite3

from kombu import Connection, Exchange, Queue

import trainer_app.broker  # noqa: F401 - registers the transport alias


def test_the_broker_file_is_in_wal_mode_and_delivers(tmp_path):
    path = tmp_path / "broker.sqlite3"
    queue = Queue("realtime", Exchange("realtime", type="direct"), routing_key="realtime")
    with Connection(f"sqlitebroker+sqlite:///{path}", transport_options={"connect_args": {"timeout": 20}}) as conn:
        producer = conn.Producer(serializer="json")
        producer.publish({"turn": 1}, exchange=queue.exchange, routing_key="realtime", declare=[queue])
        channel = conn.default_channel
        engine = channel.session.get_bind()
        with engine.connect() as connection:
            synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        assert synchronous == 1  # NORMAL (FULL is 2)
        received = []
        with conn.Consumer(queue, callbacks=[lambda body, message: (received.append(body), message.ack())]):
            conn.drain_events(timeout=5)
        assert received == [{"turn": 1}]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # kept on the file
