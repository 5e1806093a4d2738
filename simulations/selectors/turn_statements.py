"""The reads a text turn makes on every turn, as plain SQL.

Why: on this path the ORM's query compilation cost ~0.2-0.25 ms of CPU per statement (a 2-core
machine), the statements themselves ~0.02-0.04 ms (indexed reads of one session's turns). Each
function here is one simple, portable statement (SQLite and PostgreSQL) on ``Turn``'s own table;
everything else stays on the ORM.
"""

from __future__ import annotations

from django.db import connection

from simulations.models import Turn

_TABLE = Turn._meta.db_table


def turn_index_max(*, session_id: int) -> int | None:
    """The session's highest turn index (None: no turn yet)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT MAX("index") FROM "{_TABLE}" WHERE "session_id" = %s', [session_id])  # noqa: S608
        return cursor.fetchone()[0]


def turn_rows_in_order(*, session_id: int) -> list[tuple[int, str, str]]:
    """(index, speaker, text) of every turn of the session, in order."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "index", "speaker", "text" FROM "{_TABLE}" WHERE "session_id" = %s ORDER BY "index"',  # noqa: S608
            [session_id],
        )
        return cursor.fetchall()


def turn_id_for_client_id(*, session_id: int, client_id: str) -> int | None:
    """The id of the session's turn sent with this client id (a resend), if any."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "id" FROM "{_TABLE}" WHERE "session_id" = %s AND "client_id" = %s LIMIT 1',  # noqa: S608
            [session_id, client_id],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]
