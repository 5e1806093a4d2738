"""The embedded broker's SQLite file runs in WAL mode with synchronous=NORMAL (a publish commits without
an fsync, readers and the writer do not block each other), and messages still go through."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading

import pytest
from kombu import Connection, Exchange, Queue

import trainer_app.broker  # noqa: F401 - registers the transport alias

QUEUE = Queue("realtime", Exchange("realtime", type="direct"), routing_key="realtime")


def _broker(path) -> Connection:
    return Connection(f"sqlitebroker+sqlite:///{path}", transport_options={"connect_args": {"timeout": 20}})


def _received(conn: Connection, n: int) -> list:
    received = []
    with conn.Consumer(QUEUE, callbacks=[lambda body, message: (received.append(body), message.ack())]):
        for _ in range(n):
            conn.drain_events(timeout=5)
    return received


def test_the_broker_file_is_in_wal_mode_and_delivers(tmp_path):
    path = tmp_path / "broker.sqlite3"
    with _broker(path) as conn:
        producer = conn.Producer(serializer="json")
        producer.publish({"turn": 1}, exchange=QUEUE.exchange, routing_key="realtime", declare=[QUEUE])
        channel = conn.default_channel
        engine = channel.session.get_bind()
        with engine.connect() as connection:
            synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        assert synchronous == 1  # NORMAL (FULL is 2)
        assert _received(conn, 1) == [{"turn": 1}]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # kept on the file


def test_a_publish_writes_the_row_kombu_writes_with_one_statement_and_delivers_in_order(tmp_path):
    """The transport's publish is one INSERT (kombu's ORM looked the queue up and flushed a unit of work
    each time): the row is the one kombu's own publish writes, and messages still arrive in order."""
    from kombu.transport.sqlalchemy import Channel as KombuChannel
    from sqlalchemy import event

    path = tmp_path / "broker.sqlite3"
    with _broker(path) as conn:
        producer = conn.Producer(serializer="json")
        producer.publish({"turn": 0}, exchange=QUEUE.exchange, routing_key="realtime", declare=[QUEUE])
        channel = conn.default_channel
        statements = []
        event.listen(
            channel.session.get_bind(),
            "before_cursor_execute",
            lambda _c, _cur, statement, *args: statements.append(statement),
        )
        channel._publisher_connection().set_trace_callback(statements.append)  # the INSERT runs on the driver's
        for turn in range(1, 4):
            producer.publish({"turn": turn}, exchange=QUEUE.exchange, routing_key="realtime")
        writes = [s for s in statements if not s.startswith(("BEGIN", "COMMIT"))]
        assert len(writes) == 3 and all(s.startswith("INSERT INTO kombu_message") for s in writes)
        channel._publisher_connection().set_trace_callback(None)
        # kombu's own publish, for comparison
        channel._put = lambda queue, payload, **kwargs: KombuChannel._put(channel, queue, payload, **kwargs)
        producer.publish({"kombu": "its own publish"}, exchange=QUEUE.exchange, routing_key="realtime")
        del channel._put
        rows = (
            sqlite3.connect(path)
            .execute("SELECT visible, timestamp, version, queue_id FROM kombu_message ORDER BY id")
            .fetchall()
        )
        assert len(rows) == 5 and len(set(rows)) == 1  # ours and kombu's: the same columns
        assert _received(conn, 5) == [{"turn": 0}, {"turn": 1}, {"turn": 2}, {"turn": 3}, {"kombu": "its own publish"}]


def _consumer_statements(conn: Connection) -> list[str]:
    """Every statement the channel's consuming connection runs from now on."""
    statements: list[str] = []
    conn.default_channel._consumer_connection().set_trace_callback(statements.append)
    return statements


def test_an_idle_poll_reads_no_queue_until_another_connection_commits(tmp_path):
    """A poll of an empty queue asks SQLite's data_version only (kombu's ORM read the queue row and took the
    write lock on every poll of every queue, 20 times a second); a message published from another
    connection is read on the next poll."""
    path = tmp_path / "broker.sqlite3"
    with _broker(path) as consumer, _broker(path) as publisher:
        with consumer.Consumer(QUEUE, callbacks=[lambda body, message: message.ack()]):
            with pytest.raises(socket.timeout):
                consumer.drain_events(timeout=0.05)  # declares the queue, finds it empty
            statements = _consumer_statements(consumer)
            with pytest.raises(socket.timeout):
                consumer.drain_events(timeout=0.3)  # ~6 polls
            assert statements and set(statements) == {"PRAGMA data_version"}
        publisher.Producer(serializer="json").publish(
            {"turn": 7}, exchange=QUEUE.exchange, routing_key="realtime", declare=[QUEUE]
        )
        statements.clear()
        assert _received(consumer, 1) == [{"turn": 7}]
        assert any(s.startswith("SELECT id, payload") for s in statements)


def test_a_taken_message_is_deleted_and_rows_left_by_kombus_transport_go(tmp_path):
    """Taken messages leave no row behind (kombu kept each as an invisible row that every poll scanned);
    invisible rows kombu's own transport left in an existing file are removed at the first poll."""
    path = tmp_path / "broker.sqlite3"
    with _broker(path) as conn:
        producer = conn.Producer(serializer="json")
        for turn in range(3):
            producer.publish({"turn": turn}, exchange=QUEUE.exchange, routing_key="realtime", declare=[QUEUE])
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("UPDATE kombu_message SET visible = 0 WHERE id = (SELECT MIN(id) FROM kombu_message)")  # kombu's take
        assert _received(conn, 2) == [{"turn": 1}, {"turn": 2}]
        assert db.execute("SELECT COUNT(*) FROM kombu_message").fetchone()[0] == 0


def test_two_consumers_of_one_queue_take_each_message_once(tmp_path):
    path = tmp_path / "broker.sqlite3"
    n = 120
    with _broker(path) as conn:
        conn.Producer(serializer="json").publish({"turn": -1}, exchange=QUEUE.exchange, routing_key="realtime",
                                                 declare=[QUEUE])
        assert _received(conn, 1) == [{"turn": -1}]
    taken: list[list[int]] = [[], []]

    def consume(k: int) -> None:
        with _broker(path) as conn, conn.Consumer(
            QUEUE, callbacks=[lambda body, message: (taken[k].append(body["turn"]), message.ack())]
        ):
            while sum(map(len, taken)) < n:
                with contextlib.suppress(TimeoutError):
                    conn.drain_events(timeout=0.2)

    threads = [threading.Thread(target=consume, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    with _broker(path) as conn:
        producer = conn.Producer(serializer="json")
        for turn in range(n):
            producer.publish({"turn": turn}, exchange=QUEUE.exchange, routing_key="realtime", declare=[QUEUE])
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(taken[0] + taken[1]) == list(range(n))


def test_a_file_locked_past_the_busy_timeout_is_a_connection_error(tmp_path):
    """The take runs on the driver's connection: its error must be one Celery reconnects on."""
    path = tmp_path / "broker.sqlite3"
    with Connection(f"sqlitebroker+sqlite:///{path}", transport_options={"connect_args": {"timeout": 0.2}}) as conn:
        conn.Producer(serializer="json").publish({"turn": 1}, exchange=QUEUE.exchange, routing_key="realtime",
                                                 declare=[QUEUE])
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with conn.Consumer(QUEUE, callbacks=[lambda body, message: message.ack()]), pytest.raises(
                conn.connection_errors
            ):
                conn.drain_events(timeout=2)
        finally:
            locker.execute("ROLLBACK")
